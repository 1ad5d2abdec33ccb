# Sourced by build-deb.sh and build-rpm.sh: where things are and what is being packaged.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/.." && pwd)
version=$(node -p "require('$root/package.json').version")
# The native parts are built for this Node: the packages need the same major version.
node_major=$(node -p 'process.versions.node.split(".")[0]')
