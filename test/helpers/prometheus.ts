/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4):
 * `# HELP name text`, `# TYPE name counter|gauge|histogram|summary|untyped`,
 * and samples `name{label="value",…} number [timestamp]`. Throws on any line
 * it does not understand, on a sample without a TYPE of its family, and on a
 * family typed twice — what Prometheus itself would refuse.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function number(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (/^nan$/i.test(text)) return NaN; // Go's ParseFloat, which Prometheus uses, accepts any case
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new Error(`not a number: ${text}`);
  return n;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count', '_total', '_created']) {
      if (suffix && !sample.endsWith(suffix)) continue;
      const f = families.get(suffix ? sample.slice(0, -suffix.length) : sample);
      if (f) return f;
    }
    return undefined;
  };
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      const f = families.get(m[1]!) ?? { name: m[1]!, type: 'untyped', help: '', samples: [] };
      f.help = m[2]!;
      families.set(f.name, f);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      const f = families.get(m[1]!) ?? { name: m[1]!, type: 'untyped', help: '', samples: [] };
      if (f.samples.length > 0 || (f.type !== 'untyped' && families.has(m[1]!) && f.type !== m[2]))
        throw new Error(`line ${i + 1}: TYPE after samples or twice: ${line}`);
      f.type = m[2]!;
      families.set(f.name, f);
    } else if (line.startsWith('#')) {
      continue; // a comment
    } else if ((m = SAMPLE.exec(line))) {
      const labels: Record<string, string> = {};
      if (m[2]) {
        LABEL.lastIndex = 0;
        while (LABEL.lastIndex < m[2].length) {
          const l = LABEL.exec(m[2]);
          if (!l) throw new Error(`line ${i + 1}: bad labels: ${m[2]}`);
          labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        }
      }
      const f = familyOf(m[1]!);
      if (!f) throw new Error(`line ${i + 1}: sample of a family without HELP/TYPE: ${m[1]}`);
      f.samples.push({ name: m[1]!, labels, value: number(m[3]!) });
    } else throw new Error(`line ${i + 1}: not Prometheus text: ${line}`);
  }
  return families;
}

/** The value of one sample (labels must match exactly those given), or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values())
    for (const s of f.samples)
      if (
        s.name === name &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
        (Object.keys(labels).length > 0 || Object.keys(s.labels).length === 0)
      )
        return s.value;
  return undefined;
}
