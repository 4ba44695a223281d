/**
 * JUnit XML, the test-report format GitLab, Jenkins and GitHub's test-report actions read:
 * <testsuites> of <testsuite> of <testcase>, each passed, <failure message=…> or <skipped/>.
 */
import type { CheckResult } from "../../checks/index.ts";

export interface JUnitCase {
  name: string;
  classname: string;
  seconds: number;
  /** Present when the case failed: a one-line message and the longer text. */
  failure?: { message: string; type: string; text?: string };
  /** Present when the case was not graded. */
  skipped?: string;
}

export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
}

// XML 1.0 forbids most control characters even escaped; drop them.
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(s: string): string {
  return s.replace(INVALID, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

const secs = (s: number): string => s.toFixed(3);

export function junitXml(name: string, suites: JUnitSuite[]): string {
  const count = (cs: JUnitCase[]) => ({
    tests: cs.length,
    failures: cs.filter((c) => c.failure).length,
    skipped: cs.filter((c) => c.skipped !== undefined).length,
    time: cs.reduce((s, c) => s + c.seconds, 0),
  });
  const all = count(suites.flatMap((s) => s.cases));
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlEscape(name)}" tests="${all.tests}" failures="${all.failures}" errors="0" skipped="${all.skipped}" time="${secs(all.time)}">`,
  ];
  for (const s of suites) {
    const n = count(s.cases);
    lines.push(`  <testsuite name="${xmlEscape(s.name)}" tests="${n.tests}" failures="${n.failures}" errors="0" skipped="${n.skipped}" time="${secs(n.time)}">`);
    for (const c of s.cases) {
      const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" time="${secs(c.seconds)}"`;
      if (c.failure) {
        const body = c.failure.text ? xmlEscape(c.failure.text) : "";
        lines.push(`${open}>`, `      <failure message="${xmlEscape(c.failure.message)}" type="${xmlEscape(c.failure.type)}">${body}</failure>`, `    </testcase>`);
      } else if (c.skipped !== undefined) {
        lines.push(`${open}>`, `      <skipped message="${xmlEscape(c.skipped)}"/>`, `    </testcase>`);
      } else {
        lines.push(`${open}/>`);
      }
    }
    lines.push(`  </testsuite>`);
  }
  lines.push(`</testsuites>`, "");
  return lines.join("\n");
}

/** The message of a failed output: its reason, or its rel error against the threshold. */
export function outputFailure(r: CheckResult, o: CheckResult["outputs"][number]): string {
  const against = r.metric === "hidden-seed" ? "xt's output at that seed" : "the notebook's expected array";
  if (o.reason) return `${o.reason} (seed ${r.seed})`;
  return `rel error ${fmtErr(o.relError)} > threshold ${fmtErr(o.threshold)} (seed ${r.seed}, against ${against})`;
}

const fmtErr = (x: number | null): string => (x === null ? "-" : Number.isNaN(x) ? "NaN" : x.toExponential(2));

/** One suite per check, one case per output. */
export function checkSuites(results: CheckResult[], prefix = "xt.check"): JUnitSuite[] {
  return results.map((r) => ({
    name: `${prefix}.${r.name}`,
    cases: r.outputs.map((o): JUnitCase => {
      const base = { name: o.name, classname: `${prefix}.${r.name}`, seconds: r.ms / 1000 / r.outputs.length };
      if (o.pass === null) return { ...base, skipped: `seed ${r.seed}: xt's own outputs are not graded at other seeds (grade a notebook's with --against FILE)` };
      if (o.pass) return base;
      return {
        ...base,
        failure: {
          message: outputFailure(r, o),
          type: o.reason ? "invalid-output" : "threshold",
          text: `${r.title}\n${o.name}: shape [${o.shape.join(",")}], rel error ${fmtErr(o.relError)}, threshold ${fmtErr(o.threshold)}${r.against ? `\nsubmission: ${r.against}` : ""}`,
        },
      };
    }),
  }));
}
