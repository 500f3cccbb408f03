#!/usr/bin/env bash
# Checks the Prometheus config, alert rules and Grafana dashboard:
#   1. promtool check config   (prometheus.yml; its rule_files resolve next to it)
#   2. promtool check rules    (alerts.yml)
#   3. promtool test rules     (alerts_test.yml: each alert fires, and stays quiet when it should)
#   4. check_catalogue.py      (every metric and label in the rules, rule tests and
#                               dashboard exists in `ccrouterd --list-metrics`)
# Every step runs even after a failure, so a renamed metric shows both the
# rule test it breaks and the expression that names it.
# Usage: deploy/tests/check_rules.sh PATH/TO/ccrouterd
set -uo pipefail
ccrouterd=${1:?usage: check_rules.sh PATH/TO/ccrouterd}
deploy=$(cd "$(dirname "$0")/.." && pwd)
promtool=${PROMTOOL:-promtool}
if ! command -v "$promtool" >/dev/null; then
  echo "check_rules: promtool not found (Debian package prometheus; tools/install-deps installs it)" >&2
  exit 1
fi

failed=()
step() {  # name command...
  echo "== $1"
  if ! "${@:2}"; then failed+=("$1"); fi
}
step "promtool check config deploy/prometheus/prometheus.yml" \
  "$promtool" check config "$deploy/prometheus/prometheus.yml"
step "promtool check rules deploy/prometheus/alerts.yml" \
  "$promtool" check rules "$deploy/prometheus/alerts.yml"
step "promtool test rules deploy/prometheus/alerts_test.yml" \
  "$promtool" test rules "$deploy/prometheus/alerts_test.yml"
step "metrics and labels against ccrouterd --list-metrics" \
  /usr/bin/python3 "$deploy/tests/check_catalogue.py" --ccrouterd "$ccrouterd" \
  --promtool "$promtool" --deploy-dir "$deploy"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'check_rules: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "check_rules: OK"
