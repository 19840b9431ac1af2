#!/usr/bin/env python3
"""JUnit XML reports: split the console launcher's one-file report per class, and count what ran.

usage:
  junit-report.py split REPORT.xml DIR [MODULE...]
                                              one TEST-<class>.xml per test class in DIR (surefire's naming), and
                                              the same in MODULE/target/surefire-reports for the MODULE whose
                                              target/test-classes holds the class, so that tests run outside Maven
                                              (ci/kvm-jobs.sh unit) are reported like the others
  junit-report.py summary [--classes] MODULE_DIR...
                                              per module, from MODULE/target/surefire-reports/TEST-*.xml: tests,
                                              failures, errors, skipped (with the reasons); --classes: a line per
                                              class too. Exit status 1 if anything failed.
  junit-report.py classes [--none-skipped] DIR...
                                              a surefire-style line per class found in DIR/TEST-*.xml;
                                              --none-skipped: exit 1 if any test was skipped (aborted) or failed
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET


def cases(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for s in suites:
        yield from s.findall("testcase")


def outcome(case):
    for kind in ("failure", "error", "skipped"):
        e = case.find(kind)
        if e is not None:
            text = (e.get("message") or e.text or "").strip()
            return kind, text.splitlines()[0] if text else ""
    return "passed", ""


def module_of(cls, modules):
    """The module whose compiled test classes hold class cls (a nested class: its outermost class's file)."""
    path = cls.split("$")[0].replace(".", "/") + ".class"
    for m in modules:
        if os.path.isfile(os.path.join(m, "target", "test-classes", path)):
            return m
    return None


def split(report, out_dir, modules=()):
    by_class = {}
    for c in cases(report):
        by_class.setdefault(c.get("classname"), []).append(c)
    os.makedirs(out_dir, exist_ok=True)
    for cls, cs in by_class.items():
        counts = {k: sum(1 for c in cs if outcome(c)[0] == k) for k in ("failure", "error", "skipped")}
        suite = ET.Element("testsuite", name=cls, tests=str(len(cs)), failures=str(counts["failure"]),
                           errors=str(counts["error"]), skipped=str(counts["skipped"]),
                           time="%.3f" % sum(float(c.get("time") or 0) for c in cs))
        suite.extend(cs)
        dirs = [out_dir]
        m = module_of(cls, modules)
        if m:
            dirs.append(os.path.join(m, "target", "surefire-reports"))
        elif modules:
            raise SystemExit(f"junit-report: no module of {list(modules)} has the test class {cls}")
        for d in dirs:
            os.makedirs(d, exist_ok=True)
            ET.ElementTree(suite).write(os.path.join(d, f"TEST-{cls}.xml"), encoding="UTF-8", xml_declaration=True)
    return sorted(by_class)


def class_lines(files):
    """(line, tests, failed, skipped) per class, surefire's wording."""
    per = {}
    for f in files:
        for c in cases(f):
            k = outcome(c)[0]
            t = per.setdefault(c.get("classname"), {"tests": 0, "failure": 0, "error": 0, "skipped": 0})
            t["tests"] += 1
            if k != "passed":
                t[k] += 1
    for cls in sorted(per):
        t = per[cls]
        yield (f"Tests run: {t['tests']}, Failures: {t['failure']}, Errors: {t['error']}, Skipped: {t['skipped']}"
               f" -- in {cls}", t["tests"], t["failure"] + t["error"], t["skipped"])


def main(argv):
    if len(argv) >= 3 and argv[0] == "split":
        for cls in split(argv[1], argv[2], argv[3:]):
            print(f"  {argv[2]}/TEST-{cls}.xml")
        return 0
    if argv and argv[0] == "classes":
        strict = "--none-skipped" in argv
        files = [f for d in argv[1:] if not d.startswith("--") for f in sorted(glob.glob(os.path.join(d, "TEST-*.xml")))]
        bad = not files
        for line, tests, failed, skipped in class_lines(files):
            print("  " + line)
            bad |= failed > 0 or (strict and (skipped > 0 or tests == 0))
        if not files:
            print("  no test reports")
        return 1 if bad else 0
    if argv and argv[0] == "summary":
        show_classes = "--classes" in argv
        dirs = [d for d in argv[1:] if not d.startswith("--")]
        rc = 0
        print(f"  {'module':<18}{'tests':>7}{'failed':>8}{'skipped':>9}")
        total = [0, 0, 0]
        for d in dirs:
            files = sorted(glob.glob(os.path.join(d, "target", "surefire-reports", "TEST-*.xml")))
            if not files:
                continue
            n = failed = skipped = 0
            reasons = []
            for f in files:
                for c in cases(f):
                    k, msg = outcome(c)
                    n += 1
                    failed += k in ("failure", "error")
                    if k == "skipped":
                        skipped += 1
                        reasons.append(f"{c.get('classname').rsplit('.', 1)[-1]}.{c.get('name')}: {msg[:150]}")
            total = [total[0] + n, total[1] + failed, total[2] + skipped]
            print(f"  {os.path.basename(os.path.abspath(d)):<18}{n:>7}{failed:>8}{skipped:>9}")
            for r in reasons:
                print(f"      skipped {r}")
            if show_classes:
                for line, *_ in class_lines(files):
                    print("      " + line)
            rc |= failed > 0
        print(f"  {'all':<18}{total[0]:>7}{total[1]:>8}{total[2]:>9}")
        return rc
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
