export { createBackup, type BackupParameters, type BackupResult, type RunningSources } from './backup.js';
export { restoreBackup, type RestoreParameters, type RestoreResult } from './restore.js';
export { controlSocketPath, requestBackup, serveControl, type ControlServer } from './control.js';
export { BACKUP_FORMAT, backupManifestSchema, type BackupManifest, type BackupPart } from './manifest.js';
export { snapshotLevel, type LevelSnapshot } from './level-dump.js';
