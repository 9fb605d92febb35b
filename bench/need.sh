# Sourced by the bench scripts: `need TOOL...` installs with apt-get each
# tool that is missing (h2load comes in Debian's nghttp2-client).
need() {
  local tool pkg
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    pkg=$tool
    [ "$tool" = h2load ] && pkg=nghttp2-client
    echo "installing $pkg" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  done
}
