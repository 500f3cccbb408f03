#!/usr/bin/python3
"""Checks the deploy files' PromQL against ccrouterd's metric catalogue.

Alert rules and dashboard panels that name a metric the engine does not
export never fire and stay empty, silently. This check fails loudly instead:
every expression in deploy/prometheus/alerts.yml (alerts and recording
rules), every target and template query of deploy/grafana/ccrouter-dashboard.json
and every input series of deploy/prometheus/alerts_test.yml may name only
metrics of `ccrouterd --list-metrics`, and only labels those metrics carry.

  check_catalogue.py --ccrouterd PATH [--promtool PATH] [--deploy-dir DIR]

Standard library only: python3-yaml is not among the project's packages, so
the rules file is read with a small line parser for the forms it uses, and
the count of rules found is cross-checked against `promtool check rules`
(a rule the parser missed fails the check). Dashboard expressions are also
parsed by promtool, as recording rules in a temporary file, with Grafana's
variables substituted.

Label checks are regex-based: labels in {...} must exist on that metric;
labels in by/without(...) on at least one metric inside the aggregation;
labels in on/ignoring/group_left/group_right(...) on some metric of the
expression. `job` and `instance` (target labels) are always allowed, `le`
on a histogram's _bucket series.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Grafana variables, replaced before promtool parses a dashboard expression.
GRAFANA_DURATIONS = ("$__rate_interval", "$__interval", "$__range")

errors = []


def fail(where, message, expr=None):
    text = f"{where}: {message}"
    if expr is not None:
        text += "\n    in: " + " ".join(expr.split())
    errors.append(text)


# --- the catalogue ---------------------------------------------------------


def load_catalogue(ccrouterd):
    """name -> (type, set of labels) from `ccrouterd --list-metrics`."""
    out = None
    for attempt in range(10):  # the binary may be replaced by a rebuild
        try:
            out = subprocess.run([ccrouterd, "--list-metrics"], check=True,
                                 capture_output=True, text=True, timeout=30).stdout
            break
        except (OSError, subprocess.CalledProcessError) as e:
            if attempt == 9:
                sys.exit(f"check_catalogue: cannot run {ccrouterd} --list-metrics: {e}")
            time.sleep(1)
    catalogue = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+) (counter|gauge|histogram|summary|untyped) \[([^\]]*)\] ", line)
        if not m:
            sys.exit(f"check_catalogue: unexpected --list-metrics line: {line!r}")
        labels = {l.strip() for l in m.group(3).split(",") if l.strip()}
        catalogue[m.group(1)] = (m.group(2), labels)
    if not catalogue:
        sys.exit("check_catalogue: --list-metrics printed no metrics")
    return catalogue


# --- PromQL scanning -------------------------------------------------------

STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# A metric name: not part of a longer identifier, not a recorded name's tail.
CCR_RE = re.compile(r"(?<![\w:])(ccr_\w*)")
RECORDED_RE = re.compile(r"(?<![\w:])([A-Za-z_]\w*:[\w:]*)")
MATCHER_RE = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
GROUPING_RE = re.compile(r"\b(by|without)\s*\(([^()]*)\)")
JOINING_RE = re.compile(r"\b(on|ignoring|group_left|group_right)\s*\(([^()]*)\)")


def strip_strings(expr):
    """Blanks string literals so label values never look like names."""
    return STRING_RE.sub('""', expr)


def matching_paren(text, open_pos):
    depth = 0
    for i in range(open_pos, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def opening_paren(text, close_pos):
    depth = 0
    for i in range(close_pos, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1


class Resolver:
    """Knows the catalogue and the recording rules' series."""

    def __init__(self, catalogue):
        self.catalogue = catalogue
        self.recorded = {}  # recorded name -> set of labels

    def labels_of(self, name):
        """Label set of a series name, or None when the name is unknown."""
        if name in self.recorded:
            return self.recorded[name] | TARGET_LABELS
        if name in self.catalogue:
            return self.catalogue[name][1] | TARGET_LABELS
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[: -len(suffix)]
            if name.endswith(suffix) and self.catalogue.get(base, ("",))[0] == "histogram":
                extra = {"le"} if suffix == "_bucket" else set()
                return self.catalogue[base][1] | TARGET_LABELS | extra
        return None

    def names_in(self, text):
        """(position, name) of every ccr_ metric and recorded series in text."""
        found = [(m.start(1), m.group(1)) for m in CCR_RE.finditer(text)]
        found += [(m.start(1), m.group(1)) for m in RECORDED_RE.finditer(text)]
        return sorted(found)

    def check(self, where, expr):
        """Checks one PromQL expression; returns the series names it uses."""
        text = strip_strings(expr)
        names = self.names_in(text)
        known = {}
        for pos, name in names:
            labels = self.labels_of(name)
            if labels is None:
                if ":" in name:
                    fail(where, f"recorded series {name} is not defined by any recording rule", expr)
                else:
                    fail(where, f"unknown metric {name} (not in ccrouterd --list-metrics)", expr)
                continue
            known[pos] = (name, labels)
            # Label matchers right after the name: {label=..., ...}
            rest = text[pos + len(name):]
            brace = re.match(r"\s*\{([^{}]*)\}", rest)
            if brace:
                for label in MATCHER_RE.findall(brace.group(1)):
                    if label != "__name__" and label not in labels:
                        fail(where, f"{name} has no label '{label}' "
                             f"(it has: {', '.join(sorted(labels))})", expr)

        def names_between(start, end):
            return [known[p] for p in known if start <= p < end]

        for m in GROUPING_RE.finditer(text):
            after = m.end()
            while after < len(text) and text[after].isspace():
                after += 1
            if after < len(text) and text[after] == "(":  # sum by (x) (EXPR)
                scope = (after, matching_paren(text, after))
            else:  # sum (EXPR) by (x)
                before = m.start() - 1
                while before >= 0 and text[before].isspace():
                    before -= 1
                scope = (opening_paren(text, before), before) if before >= 0 and text[before] == ")" else (-1, -1)
            if scope[0] < 0 or scope[1] < 0:
                fail(where, f"cannot find what '{m.group(0)}' aggregates", expr)
                continue
            in_scope = names_between(*scope)
            self._check_labels(where, expr, m.group(1), m.group(2), in_scope)
        for m in JOINING_RE.finditer(text):
            self._check_labels(where, expr, m.group(1), m.group(2), list(known.values()))
        return [name for _, name in names]

    def _check_labels(self, where, expr, clause, label_list, in_scope):
        if not in_scope:
            return  # only non-ccr series (e.g. up) inside: nothing to check
        union = set().union(*(labels for _, labels in in_scope))
        for label in (l.strip() for l in label_list.split(",")):
            if label and label not in union:
                fail(where, f"'{clause} ({label_list})': label '{label}' is on none of "
                     f"{', '.join(sorted({n for n, _ in in_scope}))}", expr)

    def record(self, name, expr):
        """Learns a recording rule's output labels (its by() labels, else its inputs')."""
        text = strip_strings(expr)
        grouping = GROUPING_RE.search(text)
        if grouping and grouping.group(1) == "by":
            labels = {l.strip() for l in grouping.group(2).split(",") if l.strip()}
        else:
            labels = set()
            for _, n in self.names_in(text):
                labels |= self.labels_of(n) or set()
        if "histogram_quantile" in text:
            labels.discard("le")
        self.recorded[name] = labels


# --- the rules file ----------------------------------------------------------


def parse_rules(path):
    """[(kind, name, expr, {label/annotation keys}, line)] of a Prometheus rules file.

    Handles the forms alerts.yml uses: `- alert:`/`- record:` items, `expr:` on
    one line (plain or quoted) or as a block scalar (| |- > >-)."""
    lines = open(path, encoding="utf-8").read().splitlines()
    rules = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*-\s+(alert|record):\s*(\S+)\s*$", line)
        if m:
            rules.append({"kind": m.group(1), "name": m.group(2), "expr": None,
                          "keys": set(), "line": i + 1})
            i += 1
            continue
        m = re.match(r"^(\s*)expr:\s*(.*?)\s*$", line)
        if m and rules:
            indent, value = len(m.group(1)), m.group(2)
            if value in ("|", "|-", "|+", ">", ">-", ">+"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                rules[-1]["expr"] = "\n".join(block).strip()
                continue
            if value.startswith("'") and value.endswith("'"):
                value = value[1:-1].replace("''", "'")
            elif value.startswith('"') and value.endswith('"'):
                value = json.loads(value)
            rules[-1]["expr"] = value
        m = re.match(r"^\s*(severity|summary|description):", line)
        if m and rules:
            rules[-1]["keys"].add(m.group(1))
        i += 1
    return rules


def promtool_rule_count(promtool, path):
    proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    if proc.returncode != 0:
        fail(path, "promtool check rules failed:\n" + proc.stdout + proc.stderr)
        return None
    m = re.search(r"SUCCESS: (\d+) rules found", proc.stdout + proc.stderr)
    return int(m.group(1)) if m else None


def check_rules_file(path, resolver, promtool, job):
    rules = parse_rules(path)
    count = promtool_rule_count(promtool, path)
    if count is not None and count != len(rules):
        fail(path, f"promtool found {count} rules but this check parsed {len(rules)}: "
             "write each rule as '- alert: NAME' or '- record: NAME' with an 'expr:' "
             "on one line or as a block scalar, so every expression is checked")
    # Recording rules first: alerts and the dashboard may use their series.
    for rule in rules:
        if rule["kind"] == "record" and rule["expr"]:
            if not re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["name"]):
                fail(f"{path}:{rule['line']}", f"recording rule {rule['name']} should be "
                     "named level:metric:operations")
            resolver.record(rule["name"], rule["expr"])
    for rule in rules:
        where = f"{path}:{rule['line']} {rule['kind']} {rule['name']}"
        if not rule["expr"]:
            fail(where, "no expr found")
            continue
        used = resolver.check(where, rule["expr"])
        check_job(where, rule["expr"], job)
        if rule["kind"] == "alert":
            missing = {"severity", "summary", "description"} - rule["keys"]
            if missing:
                fail(where, f"alert lacks {', '.join(sorted(missing))}")
            if not used and "up{" not in rule["expr"].replace(" ", ""):
                fail(where, "alert names no ccrouter metric", rule["expr"])
    return len(rules)


def check_job(where, expr, job):
    for value in re.findall(r'\bjob\s*=\s*"([^"]*)"', expr):
        if value != job:
            fail(where, f'job="{value}" but prometheus.yml scrapes ccrouterd as job "{job}"', expr)


def check_test_series(path, resolver):
    """Input series of the rule tests must look like what the engine exports."""
    count = 0
    for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"^\s*-?\s*series:\s*'([^']*)'\s*$", line) or \
            re.match(r'^\s*-?\s*series:\s*"([^"]*)"\s*$', line)
        if not m:
            continue
        count += 1
        series = m.group(1)
        name = re.match(r"^\s*([A-Za-z_:][\w:]*)", series)
        if name and name.group(1) == "up":
            continue
        resolver.check(f"{path}:{lineno} input series", series)
    if count == 0:
        fail(path, "no input_series found")


# --- the dashboard -----------------------------------------------------------


def walk_panels(panels):
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def grafana_to_promql(expr):
    for var in GRAFANA_DURATIONS:
        expr = expr.replace(var, "5m")
    expr = re.sub(r"\$\{(\w+)(?::\w+)?\}", r"\1", expr)
    return re.sub(r"\$(\w+)", r"\1", expr)


def check_dashboard(path, resolver, promtool, job):
    try:
        dash = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail(path, f"does not load as JSON: {e}")
        return 0
    if dash.get("schemaVersion", 0) < 36:
        fail(path, f"schemaVersion {dash.get('schemaVersion')} < 36")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        fail(path, "needs a 'datasource' variable of type datasource")
    if "queue" not in variables:
        fail(path, "needs a 'queue' template variable")
    rows = [p for p in walk_panels(dash.get("panels", [])) if p.get("type") == "row"]
    if not any(r.get("repeat") == "queue" for r in rows):
        fail(path, "needs a row repeated by $queue")

    exprs = []  # (where, expr)
    ids = set()
    row_title = ""
    for panel in walk_panels(dash.get("panels", [])):
        if panel.get("id") in ids:
            fail(path, f"duplicate panel id {panel.get('id')}")
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            row_title = panel.get("title", "")
            continue
        ds = panel.get("datasource", {})
        if isinstance(ds, dict) and ds.get("uid") not in ("${datasource}", "$datasource"):
            fail(path, f"panel '{panel.get('title')}' datasource is not the $datasource variable")
        for target in panel.get("targets", []):
            if "expr" not in target:
                fail(path, f"panel '{panel.get('title')}' has a target without expr")
                continue
            exprs.append((f"{path}: row '{row_title}' panel '{panel.get('title')}' "
                          f"target {target.get('refId')}", target["expr"]))
    for name, var in variables.items():
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or "")
        where = f"{path}: variable ${name}"
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
        if not m:
            fail(where, f"expected label_values(SELECTOR, LABEL), got {query!r}")
            continue
        labels = resolver.labels_of(re.match(r"\s*([\w:]+)", m.group(1)).group(1))
        if labels is not None and m.group(2) not in labels:
            fail(where, f"label '{m.group(2)}' is not on that metric", query)
        exprs.append((where, m.group(1)))

    for where, expr in exprs:
        resolver.check(where, expr)
        check_job(where, expr, job)

    # Syntax: let promtool parse every expression as a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr:n{i}", "expr": grafana_to_promql(e)}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump(rules, f)  # JSON is YAML
        tmp = f.name
    try:
        proc = subprocess.run([promtool, "check", "rules", tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            output = proc.stdout + proc.stderr
            bad = {int(n) for n in re.findall(r"dashboard:expr:n(\d+)", output)}
            for i in sorted(bad):
                fail(exprs[i][0], "promtool cannot parse it:\n" + output.strip(), exprs[i][1])
            if not bad:
                fail(path, "promtool rejected the dashboard expressions:\n" + output)
    finally:
        os.unlink(tmp)
    return len(exprs)


def check_dashboard_signals(path):
    """What a supervisor must see at a glance, beyond naming real metrics.

    - A stat showing a queue's service level turns red below that queue's own
      target: its colour threshold comes from ccr_queue_service_level_target_ratio
      (config from query results), since one fixed number cannot fit 80/20 voice
      and 24 h email at once.
    - Offers that agents reject or let time out have a panel.
    """
    panels = list(walk_panels(json.load(open(path, encoding="utf-8"))["panels"]))
    sl_stats = [p for p in panels if p.get("type") == "stat" and any(
        "ccr_queue_service_level_ratio" in t.get("expr", "") for t in p.get("targets", []))]
    if not sl_stats:
        fail(path, "no stat panel shows ccr_queue_service_level_ratio")
    for p in sl_stats:
        where = f"{path}: panel '{p.get('title')}'"
        refs = {t.get("refId"): t.get("expr", "") for t in p.get("targets", [])}
        steps = p.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
        if not steps or steps[0].get("color") != "red":
            fail(where, "the base colour (below the first threshold) must be red")
        from_target = False
        for tr in p.get("transformations", []):
            opts = tr.get("options", {})
            if tr.get("id") != "configFromData":
                continue
            config_expr = refs.get(opts.get("configRefId"), "")
            if "ccr_queue_service_level_target_ratio" in config_expr and any(
                    m.get("handlerKey") == "threshold1" for m in opts.get("mappings", [])):
                from_target = True
        if not from_target:
            fail(where, "its threshold does not come from ccr_queue_service_level_target_ratio, "
                        "so it never turns red below the queue's target")
    offer_exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", [])
                           if "ccr_offers_total" in t.get("expr", ""))
    for outcome in ("rejected", "timed_out"):
        if outcome not in offer_exprs and "by (channel, outcome)" not in offer_exprs:
            fail(path, f"no panel shows offers {outcome} (ccr_offers_total)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ccrouterd", required=True)
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("--deploy-dir", default=os.path.dirname(here))
    args = parser.parse_args()

    prom_dir = os.path.join(args.deploy_dir, "prometheus")
    config = open(os.path.join(prom_dir, "prometheus.yml"), encoding="utf-8").read()
    jobs = re.findall(r"job_name:\s*['\"]?([\w-]+)", config)
    if jobs != ["ccrouter"]:
        fail("prometheus.yml", f"expected one scrape job 'ccrouter', found {jobs}")

    resolver = Resolver(load_catalogue(args.ccrouterd))
    n_rules = check_rules_file(os.path.join(prom_dir, "alerts.yml"), resolver, args.promtool, "ccrouter")
    check_test_series(os.path.join(prom_dir, "alerts_test.yml"), resolver)
    n_exprs = check_dashboard(os.path.join(args.deploy_dir, "grafana", "ccrouter-dashboard.json"),
                              resolver, args.promtool, "ccrouter")
    check_dashboard_signals(os.path.join(args.deploy_dir, "grafana", "ccrouter-dashboard.json"))
    if errors:
        print(f"check_catalogue: {len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print("  - " + e, file=sys.stderr)
        return 1
    print(f"check_catalogue: OK: {n_rules} rules and {n_exprs} dashboard expressions name only "
          f"catalogue metrics ({len(resolver.catalogue)} metrics) and their labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
