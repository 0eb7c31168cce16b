#!/usr/bin/env bash
# Runs every benchmark at the sizes recorded in docs/benchmarks.md; output in bench/out/<name>.txt.
#   bench/run_all.sh [name ...]        # e.g. bench/run_all.sh audit_append sql_overhead
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
declare -A ARGS=(
  [audit_append]=""
  [audit_verify]="--sizes 100000,1000000"
  [audit_query]="--sizes 1000000,10000000"
  [audit_proof]="--sizes 100000,1000000,10000000"
  [desensitize_vs_presidio]=""
  [desensitize_scale]="--small 1000000 --large 10000000"
  [sql_overhead]=""
  [sql_spark_scaling]="--sizes 1000000 5000000 20000000 --rounds 1"
  [export_checks]=""
  [export_mia]=""
  [tenants_startup]="--backends bwrap,docker --runs 2 --concurrent 4"
)
ORDER=(audit_append audit_verify audit_query audit_proof desensitize_vs_presidio desensitize_scale
       sql_overhead export_checks export_mia tenants_startup sql_spark_scaling)
[ "$#" -gt 0 ] && ORDER=("$@")
for name in "${ORDER[@]}"; do
  echo "== $name ${ARGS[$name]}"
  start=$(date +%s)
  # shellcheck disable=SC2086
  timeout 2400 python "bench/$name.py" ${ARGS[$name]} > "bench/out/$name.txt" 2>&1
  echo "   exit $? in $(( $(date +%s) - start )) s; bench/out/$name.txt"
done
