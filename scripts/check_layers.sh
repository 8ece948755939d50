#!/usr/bin/env bash
# Checks that includes follow the layers of src/ (README, "Design"): a file may include its own
# folder and the folders of lower layers, never a higher one; public headers (include/dbos) include
# only the standard library, nlohmann/json and other dbos/ headers. Prints each violation and
# exits 1 when there is one. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Bottom to top. Folders on one line form one layer and may include each other.
layers=(
  "util"
  "serialization"
  "sysdb"
  "core"
  "executor"
  "messaging management queue scheduler"
  "runtime"
)

declare -A rank
for i in "${!layers[@]}"; do
  for folder in ${layers[$i]}; do rank[$folder]=$i; done
done

violations=0
while IFS= read -r -d '' file; do
  relative="${file#src/}"
  own="${relative%%/*}"
  if [[ -z "${rank[$own]+set}" ]]; then
    echo "check_layers: src/$own is in no layer (add it to scripts/check_layers.sh)"
    violations=$((violations + 1))
    continue
  fi
  while IFS= read -r included; do
    folder="${included%%/*}"
    [[ "$folder" == dbos ]] && continue # the public API, below everything
    if [[ -z "${rank[$folder]+set}" ]]; then
      echo "check_layers: $file includes \"$included\", which is in no layer"
      violations=$((violations + 1))
    elif ((rank[$folder] > rank[$own])); then
      echo "check_layers: $file ($own) includes \"$included\" from a higher layer ($folder)"
      violations=$((violations + 1))
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find src -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z)

while IFS= read -r -d '' file; do
  while IFS= read -r included; do
    case "$included" in
      dbos/*) ;;
      *)
        echo "check_layers: public header $file includes \"$included\" (only dbos/ headers may be quoted)"
        violations=$((violations + 1))
        ;;
    esac
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
  while IFS= read -r included; do
    case "$included" in
      nlohmann/*) ;;
      */*)
        echo "check_layers: public header $file includes <$included> (only the standard library and nlohmann/json)"
        violations=$((violations + 1))
        ;;
    esac
  done < <(sed -n 's/^#include <\([^>]*\)>.*/\1/p' "$file")
done < <(find include -type f -name '*.hpp' -print0 | sort -z)

if ((violations > 0)); then
  echo "check_layers: $violations violation(s)"
  exit 1
fi
echo "check_layers: includes follow the layers"
