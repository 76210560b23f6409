// Answers to CONNECT_SUPPORTS_FEATURE for the features the RPC layer itself provides
// (libvirt's virDrvFeature numbers, src/libvirt_internal.h). Others go to the driver.

/** virDrvFeature values the daemon answers itself. */
export const DrvFeature = {
  MIGRATION_V1: 1,
  REMOTE: 2,
  MIGRATION_V2: 3,
  MIGRATION_P2P: 4,
  MIGRATION_DIRECT: 5,
  MIGRATION_V3: 6,
  MIGRATE_CHANGE_PROTECTION: 7,
  FD_PASSING: 8,
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  XML_MIGRATABLE: 11,
  MIGRATION_OFFLINE: 12,
  MIGRATION_PARAMS: 13,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
  NETWORK_UPDATE_HAS_CORRECT_ORDER: 16,
} as const;

/**
 * What tsvirtd supports on every connection: no FD passing, no migration (yet). libvirtd answers
 * FD passing yes, but a client that then sends descriptors follows its message with one carrier
 * byte per descriptor (virNetSocketSendFD), which a Node socket cannot take apart from the frame
 * stream: answering no makes the client refuse those calls itself ("fd passing is not supported
 * by this connection") and keeps the connection whole.
 */
export function serverSupportsFeature(feature: number): boolean {
  switch (feature) {
    case DrvFeature.PROGRAM_KEEPALIVE:
    case DrvFeature.REMOTE_EVENT_CALLBACK:
    case DrvFeature.REMOTE_CLOSE_CALLBACK:
    case DrvFeature.TYPED_PARAM_STRING:
    case DrvFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER:
      return true;
    default:
      return false;
  }
}
