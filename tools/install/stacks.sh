#!/usr/bin/env bash
# Builds stack programs into bin/stacks/NAME, one binary per stack.
#
#   tools/install/stacks.sh             build every known stack
#   tools/install/stacks.sh NAME...     build the named stacks
#   tools/install/stacks.sh --list      print the known stack names
#   tools/install/stacks.sh --library   print the AWS library's names (and platform)
#
# A name maps to the first of these that exists:
#   ./stacks/examples/cmd/NAME   the provider-free example stacks
#   ./stacks/aws/NAME            the AWS stack library
#   ./stacks/platform            (name "platform") what cloud itself needs in AWS
# A name present both in the examples and in the AWS library resolves to the
# example; write aws/NAME (or examples/NAME) to choose explicitly. The binary
# is bin/stacks/NAME either way.
#
# Idempotent: go's build cache makes a rebuild of unchanged code cheap, and
# the binaries are simply rewritten. Environment: GO (default go), STACKS_OUT
# (default bin/stacks under the repository root).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
go_cmd="${GO:-go}"
out="${STACKS_OUT:-$root/bin/stacks}"

# is_main DIR: DIR holds a Go main package (a non-test file saying so).
is_main() {
  local f
  for f in "$1"/*.go; do
    [ -e "$f" ] || return 1
    case "$f" in *_test.go) continue ;; esac
    if grep -qE '^package main([[:space:]]|$)' "$f"; then return 0; fi
  done
  return 1
}

# Every known stack as "name<TAB>package dir", examples first.
known() {
  local d
  for d in stacks/examples/cmd/*/; do
    d="${d%/}"; [ -d "$d" ] && is_main "$d" && printf '%s\t./%s\n' "${d##*/}" "$d"
  done
  for d in stacks/aws/*/; do
    d="${d%/}"; [ -d "$d" ] && is_main "$d" && printf '%s\t./%s\n' "${d##*/}" "$d"
  done
  if [ -d stacks/platform ] && is_main stacks/platform; then
    printf 'platform\t./stacks/platform\n'
  fi
  return 0
}

known_names() { known | cut -f1 | sort -u | paste -sd' ' -; }

# resolve NAME: prints the package dir of NAME, or fails.
resolve() {
  local name="$1"
  case "$name" in
    examples/*) [ -d "stacks/examples/cmd/${name#examples/}" ] && is_main "stacks/examples/cmd/${name#examples/}" \
                  && { echo "./stacks/examples/cmd/${name#examples/}"; return 0; } ;;
    aws/*)      [ -d "stacks/aws/${name#aws/}" ] && is_main "stacks/aws/${name#aws/}" \
                  && { echo "./stacks/aws/${name#aws/}"; return 0; } ;;
    */*|'')     ;;
    *)          known | awk -F'\t' -v n="$name" '$1 == n { print $2; found = 1; exit } END { exit !found }' && return 0 ;;
  esac
  return 1
}

if [ "${1:-}" = "--list" ]; then
  known_names | tr ' ' '\n'
  exit 0
fi
if [ "${1:-}" = "--library" ]; then
  known | awk -F'\t' '$2 ~ /^\.\/stacks\/(aws|platform)/ { print $1 }'
  exit 0
fi
case "${1:-}" in
  -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

declare -a names=() pkgs=()
declare -A seen=()
if [ $# -eq 0 ]; then
  while IFS=$'\t' read -r name pkg; do
    if [ -n "${seen[$name]:-}" ]; then
      echo "note: stack $name exists in ${seen[$name]} and $pkg; building ${seen[$name]} (use aws/$name to build the other)" >&2
      continue
    fi
    seen[$name]="$pkg"; names+=("$name"); pkgs+=("$pkg")
  done < <(known)
  if [ ${#names[@]} -eq 0 ]; then
    echo "no stacks found under stacks/examples/cmd, stacks/aws or stacks/platform" >&2
    exit 1
  fi
else
  for arg in "$@"; do
    if ! pkg="$(resolve "$arg")"; then
      echo "unknown stack \"$arg\"; known stacks: $(known_names)" >&2
      exit 2
    fi
    name="${arg##*/}"
    if [ -n "${seen[$name]:-}" ]; then
      [ "${seen[$name]}" = "$pkg" ] && continue
      echo "stacks ${seen[$name]} and $pkg would both be built as bin/stacks/$name; build them one at a time" >&2
      exit 2
    fi
    seen[$name]="$pkg"; names+=("$name"); pkgs+=("$pkg")
  done
fi

mkdir -p "$out"
# One go build for every stack: the go command compiles and links them in
# parallel, and the binaries are named after their package directories,
# which are the stack names. They land in a staging directory beside the
# targets and are renamed into place: a runner may be executing the old
# binary, and a rename leaves it alone where an overwrite would not.
stage="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
for i in "${!names[@]}"; do
  echo "stack ${names[$i]}: ${pkgs[$i]} -> ${out#"$root"/}/${names[$i]}"
done
if ! "$go_cmd" build -trimpath -o "$stage/" "${pkgs[@]}"; then
  echo "build of stacks failed" >&2
  exit 1
fi
for i in "${!names[@]}"; do
  built="$stage/$(basename "${pkgs[$i]}")"
  [ -f "$built" ] || { echo "build of stack ${names[$i]} made no binary" >&2; exit 1; }
  mv -f "$built" "$out/${names[$i]}"
done
