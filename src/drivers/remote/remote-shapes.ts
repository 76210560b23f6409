// The procedures whose wire form differs from the driver slot's (the inverse of the server's
// custom invokes in rpc/protocol): how the remote driver packs a slot's arguments and turns the
// reply back into the slot's result (camelCase records, per-vCPU bitmaps, booleans).

type Pack = (args: unknown[]) => Record<string, unknown>;
type Unpack = (ret: any, args: unknown[]) => unknown;

/** Splits concatenated cpumaps of `maplen` bytes each (remote_domain_get_vcpus_ret and friends). */
function splitMaps(buf: Buffer, maplen: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count && maplen > 0; i++)
    out.push(new Uint8Array(buf.subarray(i * maplen, (i + 1) * maplen)));
  return out;
}

export const PACK: Record<string, Pack> = {
  NODE_GET_CPU_MAP: ([flags]) => ({ need_map: 1, need_online: 1, flags }),
};

export const UNPACK: Record<string, Unpack> = {
  DOMAIN_GET_DISK_ERRORS: (r) => r.errors,
  // remote_domain_get_cpu_stats_ret: ret.nparams parameters per CPU, CPUs back to back.
  DOMAIN_GET_CPU_STATS: (r) => {
    const rows: unknown[][] = [];
    for (let i = 0; r.nparams > 0 && i < r.params.length; i += r.nparams)
      rows.push(r.params.slice(i, i + r.nparams));
    return rows;
  },
  DOMAIN_GET_VCPUS: (r, [, , maplen]) => ({
    info: r.info.map((i: any) => ({ number: i.number, state: i.state, cpuTime: i.cpu_time, cpu: i.cpu })),
    cpumaps: splitMaps(r.cpumaps, maplen as number, r.info.length),
  }),
  DOMAIN_GET_VCPU_PIN_INFO: (r, [, , maplen]) => splitMaps(r.cpumaps, maplen as number, r.num),
  DOMAIN_GET_EMULATOR_PIN_INFO: (r) => (r.ret ? new Uint8Array(r.cpumaps) : null),
  NODE_GET_CPU_MAP: (r) => ({ cpumap: new Uint8Array(r.cpumap), online: r.online, cpus: r.ret }),
  DOMAIN_GET_IOTHREAD_INFO: (r) =>
    r.info.map((t: any) => ({ iothreadId: t.iothread_id, cpumap: new Uint8Array(t.cpumap) })),
  DOMAIN_GET_FSINFO: (r) =>
    r.info.map((f: any) => ({
      mountpoint: f.mountpoint,
      name: f.name,
      fstype: f.fstype,
      devAliases: f.dev_aliases,
    })),
  DOMAIN_BLOCK_STATS: (r) => ({
    rdReq: r.rd_req,
    rdBytes: r.rd_bytes,
    wrReq: r.wr_req,
    wrBytes: r.wr_bytes,
    errs: r.errs,
  }),
  DOMAIN_INTERFACE_STATS: (r) => ({
    rxBytes: r.rx_bytes,
    rxPackets: r.rx_packets,
    rxErrs: r.rx_errs,
    rxDrop: r.rx_drop,
    txBytes: r.tx_bytes,
    txPackets: r.tx_packets,
    txErrs: r.tx_errs,
    txDrop: r.tx_drop,
  }),
  DOMAIN_RENAME: () => undefined,
  DOMAIN_GET_SECURITY_LABEL_LIST: (r) => r.labels,
};
