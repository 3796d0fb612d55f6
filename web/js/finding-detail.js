// The technical detail under a finding, in the page's language (issue 14).
// The server's `message` is one English line (src/completeness/findings.ts,
// src/stats/stats.ts). On a Chinese page it is rebuilt in Chinese from the
// values it names, the way check codes have their own texts: one pattern per
// message form. A message no pattern knows (a newer gateway) is never shown
// alone in English: the Chinese meaning of its code comes first and the
// original follows as 原文. Values (device ids, record ids, times) stay text.
import { fmtTime, getLang, has, t } from './i18n.js';

const stage = (s) => (has(`stage.${s}`) ? t(`stage.${s}`) : s);
const time = (iso) => fmtTime(iso);
const secs = (n) => {
  const s = Number(n);
  if (!Number.isFinite(s)) return `${n} 秒`;
  if (s < 120) return `${s} 秒`;
  if (s < 7200) return `${Math.round(s / 60)} 分钟`;
  return `${Math.round(s / 360) / 10} 小时`;
};

/** [code, pattern, (match) => Chinese text]. Patterns match the whole message. */
const ZH = [
  [
    'DEVICE_SEQ_HOLE',
    /^record (\d+) of device (.+) is missing \(deleted or never uploaded\)$/,
    (m) => `设备 ${m[2]} 的第 ${m[1]} 条记录缺失(被删除或从未上传)`,
  ],
  [
    'DEVICE_SEQ_HOLE',
    /^records (\d+)–(\d+) of device (.+) are missing \(deleted or never uploaded\)$/,
    (m) => `设备 ${m[3]} 的第 ${m[1]}–${m[2]} 条记录缺失(被删除或从未上传)`,
  ],
  ['DEVICE_CHAIN_FORK', /^device (.+) has (\d+) different records with seq (\d+)$/, (m) => `设备 ${m[1]} 的序号 ${m[3]} 有 ${m[2]} 条不同的记录`],
  [
    'DEVICE_CHAIN_BREAK',
    /^record (\d+) of device (.+) does not chain to record (\d+) \(prev differs\): a record was replaced$/,
    (m) => `设备 ${m[2]} 的第 ${m[1]} 条记录与第 ${m[3]} 条不衔接(记录中的前一条哈希对不上):有记录被替换`,
  ],
  [
    'DEVICE_KEY_CHANGED',
    /^device (.+) signs record (\d+) with another key \((.+?)\) than record (\d+) \((.+?)\)$/,
    (m) => `设备 ${m[1]} 的第 ${m[2]} 条记录改用另一把密钥(${m[3]})签名,第 ${m[4]} 条用的是 ${m[5]}`,
  ],
  [
    'DEVICE_SESSION_UNCLOSED',
    /^recording started at (\S+) on device (.+) has no stop before the next start$/,
    (m) => `设备 ${m[2]} 于 ${time(m[1])} 开始的录制,在下一次开始之前没有结束记录`,
  ],
  [
    'DEVICE_SESSION_UNCLOSED',
    /^recording started at (\S+) on device (.+) has no stop record yet$/,
    (m) => `设备 ${m[2]} 于 ${time(m[1])} 开始的录制至今没有结束记录`,
  ],
  ['CASE_STAGE_OUT_OF_ORDER', /^on-site record captured after the decision \((\S+)\)$/, (m) => `现场执法记录采集于 ${time(m[1])},晚于决定`],
  [
    'CASE_STAGE_OUT_OF_ORDER',
    /^stage (\S+) began \((\S+)\) after stage (\S+) \((\S+)\)$/,
    (m) => `“${stage(m[1])}”环节(${time(m[2])})开始于“${stage(m[3])}”环节(${time(m[4])})之后`,
  ],
  ['CASE_DECISION_WITHOUT_REVIEW', /^decision of (\S+) has no prior legal review \(法制审核\) record$/, (m) => `${time(m[1])} 作出的决定之前没有法制审核记录`],
  ['CASE_DECISION_NOT_SERVED', /^decision of (\S+) has no service \(送达\) record after it$/, (m) => `${time(m[1])} 作出的决定之后没有送达记录`],
  [
    'RECORD_CAPTURED_IN_FUTURE',
    /^record (\S+) claims capture at (\S+), after it was journaled$/,
    (m) => `记录 ${m[1]} 声称采集于 ${time(m[2])},晚于它入库的时间`,
  ],
  [
    'RECORD_SEALED_LATE',
    /^record (\S+) was sealed (\d+) s after capture \(policy: (\d+) s\)$/,
    (m) => `记录 ${m[1]} 在采集 ${secs(m[2])}后才封存(规定不超过 ${secs(m[3])})`,
  ],
  [
    'RECORD_ANCHORED_LATE',
    /^record (\S+) was anchored (\d+) s after capture \(policy: (\d+) s\)$/,
    (m) => `记录 ${m[1]} 在采集 ${secs(m[2])}后才上链(规定不超过 ${secs(m[3])})`,
  ],
];

/** The finding's detail line in the page's language; '' when it has none. */
export function findingDetail(f) {
  const message = typeof f?.message === 'string' ? f.message : '';
  if (!message || getLang() !== 'zh') return message;
  for (const [code, re, zh] of ZH) {
    if (f.code && code !== f.code) continue;
    const m = re.exec(message);
    if (m) return zh(m);
  }
  const about = f.code && has(`finding.${f.code}.about`) ? t(`finding.${f.code}.about`) : t('finding.other');
  return `${about}(原文:${message})`;
}
