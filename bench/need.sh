# Sourced by the bench scripts.
#
# `need TOOL...` installs with apt-get each tool that is missing (h2load
# comes in Debian's nghttp2-client), updating the package lists once.
# `wait_for URL` waits up to a minute for URL to answer.
# `h1_load URL N OUT` sends N keep-alive HTTP/1.1 requests with h2load (4
# connections), its report in OUT; fails unless all N were answered 2xx.
need() {
  local tool pkg updated=0
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    pkg=$tool
    [ "$tool" = h2load ] && pkg=nghttp2-client
    echo "installing $pkg" >&2
    if [ "$updated" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
      updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  done
}

wait_for() {
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

h1_load() {
  h2load --h1 -n "$2" -c 4 "$1" >"$3"
  if ! grep -qE "^status codes: $2 2xx" "$3"; then
    cat "$3" >&2
    return 1
  fi
}
