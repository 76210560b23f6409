# Builds a domain document from a case dict: {"top": extra top-level XML (after <os>),
# "os": <os> body, "devices": <devices> body, "type": domain type, "head": XML after <name>}.
# Inputs are written indented, the way a person would, so line numbers in errors are realistic.


def uuid_for(name):
    h = 0
    for ch in name:
        h = (h * 131 + ord(ch)) & 0xFFFFFFFFFFFF
    return "6f1e2d3c-4b5a-4978-8a6b-%012x" % h


def build(name, c):
    t = c.get("type", "test")
    lines = [f"<domain type='{t}'>", f"  <name>{c.get('name', name)}</name>"]
    if c.get("uuid", True):
        lines.append(f"  <uuid>{uuid_for(name)}</uuid>")
    if "head" in c:
        lines.append("  " + c["head"])
    if c.get("memory", True):
        lines.append("  <memory unit='MiB'>256</memory>")
    lines.append(f"  <os{c.get('osattrs', '')}>")
    lines.append("    " + c.get("os", "<type arch='x86_64'>hvm</type>"))
    lines.append("  </os>")
    if "top" in c:
        lines.append("  " + c["top"])
    if "devices" in c:
        lines.append("  <devices>")
        lines.append("    " + c["devices"])
        lines.append("  </devices>")
    lines.append("</domain>")
    return "\n".join(lines) + "\n"
