#!/bin/bash
# Submits an offsim sweep as an N-task Slurm array plus a merge job that
# runs after every task succeeded; prints the two job ids.
#
#   scripts/slurm/submit.sh N SCENARIO OUT [offsim sweep flags...]
#
# Results: OUT/shard-0 .. OUT/shard-(N-1), merged into OUT/merged/.
# OFFSIM (the binary) is passed on to the jobs; give an absolute path if
# offsim is not on the compute nodes' PATH. OUT must be on a file system
# every node sees.
set -euo pipefail
n=${1:?usage: submit.sh N SCENARIO OUT [sweep flags...]}
scenario=${2:?usage: submit.sh N SCENARIO OUT [sweep flags...]}
out=${3:?usage: submit.sh N SCENARIO OUT [sweep flags...]}
shift 3
scenario=$(realpath "$scenario")
out=$(realpath -m "$out")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
array=$(sbatch --parsable --export=ALL --chdir="$out" --array="0-$((n - 1))" "$here/sweep.sbatch" "$scenario" "$out" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --chdir="$out" --dependency="afterok:$array" "$here/merge.sbatch" "$out")
echo "array $array merge ${merge%%;*}"
