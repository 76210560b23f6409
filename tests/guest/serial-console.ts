// Test helper: talks to a guest's serial port exposed by QEMU as a unix socket chardev
// (-chardev socket,id=...,path=P,server=on,wait=off): collects output, waits for text, sends input.
import net from "node:net";

export class SerialConsole {
  output = "";
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.output += d.toString("latin1");
      this.waiters = this.waiters.filter((w) => {
        const m = this.output.match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
    });
    sock.on("error", () => {});
  }

  static connect(path: string, timeoutMs = 10_000): Promise<SerialConsole> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const s = net.createConnection({ path });
        s.once("connect", () => resolve(new SerialConsole(s)));
        s.once("error", (e) => {
          if (Date.now() > deadline) reject(e);
          else setTimeout(attempt, 20);
        });
      };
      attempt();
    });
  }

  waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const m = this.output.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${re} on serial; got: ${this.output.slice(-500)}`)),
        timeoutMs,
      );
      this.waiters.push({
        re,
        resolve: (mm) => {
          clearTimeout(timer);
          resolve(mm);
        },
      });
    });
  }

  write(text: string): void {
    this.sock.write(text);
  }

  close(): void {
    this.sock.destroy();
  }
}
