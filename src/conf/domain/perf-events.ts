// virPerfEvent names (libvirt's <perf> events and virDomainGetPerfEvents parameters).

/** virPerfEvent names, in the enum's order (libvirt formats <perf> events in this order). */
export const PERF_EVENTS: readonly string[] = [
  "cmt",
  "mbmt",
  "mbml",
  "cpu_cycles",
  "instructions",
  "cache_references",
  "cache_misses",
  "branch_instructions",
  "branch_misses",
  "bus_cycles",
  "stalled_cycles_frontend",
  "stalled_cycles_backend",
  "ref_cpu_cycles",
  "cpu_clock",
  "task_clock",
  "page_faults",
  "context_switches",
  "cpu_migrations",
  "page_faults_min",
  "page_faults_maj",
  "alignment_faults",
  "emulation_faults",
];
