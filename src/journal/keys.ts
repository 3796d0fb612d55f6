/**
 * The journal's key space (one LevelDB, string keys, sortable numbers padded
 * to 16 digits). Keeping every layout in one place makes the atomicity
 * argument of each write readable.
 *
 *   r:<id>                     → StoredRecord            the record as journaled
 *   q:<agency>:<ack>           → QueueEntry              per-agency journal order (ack = 1, 2, 3 …)
 *   ag:<agency>                → last ack                recovered at open
 *   d:<device>                 → DeviceHead              tip of the device hash chain
 *   di:<device>:<seq>          → id                      device chain index
 *   c:<case>\x00<agency>:<ack> → id                      case index
 *   a:<agency>                 → AgencyHead              last batch and what it sealed
 *   b:<agency>:<seq>           → BatchInfo
 *   br:<root>                  → "<agency>:<seq>"        batch by root
 *   bx:<agency>:<lastAck>      → seq                     batch holding an ack (seek ≥ ack)
 *   blob / <root>              → leaf hashes, 32 bytes each (binary sublevel)
 *   x:<root>                   → anchor state (chain module; a TypedStore)
 *   m:<key>                    → meta value (higher layers; a TypedStore of strings)
 *   l:<leaf>                   → id                      record by leaf (public verification, QR links)
 *   p:write-probe              → ISO time                written after a reopen, to prove writes land again
 */
export const pad = (n: number): string => n.toString().padStart(16, '0');

export const K = {
  record: (id: string) => `r:${id}`,
  queue: (agency: string, ack: number) => `q:${agency}:${pad(ack)}`,
  queuePrefix: (agency: string) => `q:${agency}:`,
  agencyAck: (agency: string) => `ag:${agency}`,
  agencyAckPrefix: 'ag:',
  device: (device: string) => `d:${device}`,
  devicePrefix: 'd:',
  deviceIndex: (device: string, seq: number) => `di:${device}:${pad(seq)}`,
  deviceIndexPrefix: (device: string) => `di:${device}:`,
  caseIndex: (caseId: string, agency: string, ack: number) => `c:${caseId}\x00${agency}:${pad(ack)}`,
  caseIndexPrefix: (caseId: string) => `c:${caseId}\x00`,
  agencyHead: (agency: string) => `a:${agency}`,
  batch: (agency: string, seq: number) => `b:${agency}:${pad(seq)}`,
  batchPrefix: (agency: string) => `b:${agency}:`,
  batchByRoot: (root: string) => `br:${root}`,
  batchByAck: (agency: string, lastAck: number) => `bx:${agency}:${pad(lastAck)}`,
  batchByAckPrefix: (agency: string) => `bx:${agency}:`,
  anchor: (root: string) => `x:${root}`,
  anchorPrefix: 'x:',
  metaPrefix: 'm:',
  blobSublevel: 'blob',
  leaf: (leaf: string) => `l:${leaf}`,
  probe: 'p:write-probe',
} as const;

/** Upper bound for a prefix range scan. */
export const end = (prefix: string): string => `${prefix}\xff`;
