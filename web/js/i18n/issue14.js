// Texts of issue 14 (display names, finding details, evidence download), kept
// apart from zh.js/en.js so parallel work on those dictionaries merges cleanly.
// i18n.js merges them into the dictionaries. {name} placeholders as in zh.js.
export const zh = {
  'names.agency': '{name}({code})',
  'names.notary': '{name}({address})',
  'names.unnamedNotary': '未登记名称的公证机构',
  'public.notaryByEl': '签署于 {time}',

  'evidence.download': '下载证据文件',
  'evidence.downloading': '正在下载…',
  'evidence.downloaded': '已下载 {name}({size}),服务器在发送时已按记录核对 SHA-256:{sha256}',
  'evidence.noFile': '这条记录没有文件。',
  'evidence.audit': '下载会记入审计日志。',
  'evidence.localOk': '✓ 本机再次计算的 SHA-256 与记录一致',
  'evidence.localBad': '✗ 本机计算的 SHA-256 与记录不一致:文件未保存',
};

export const en = {
  'names.agency': '{name} ({code})',
  'names.notary': '{name} ({address})',
  'names.unnamedNotary': 'Notary office without a registered name',
  'public.notaryByEl': 'signed {time}',

  'evidence.download': 'Download the evidence file',
  'evidence.downloading': 'Downloading…',
  'evidence.downloaded': 'Downloaded {name} ({size}); the server checked it against the record’s SHA-256 while sending: {sha256}',
  'evidence.noFile': 'This record has no file.',
  'evidence.audit': 'The download is written to the audit trail.',
  'evidence.localOk': '✓ SHA-256 computed again here matches the record',
  'evidence.localBad': '✗ the SHA-256 computed here does not match the record: not saved',
};
