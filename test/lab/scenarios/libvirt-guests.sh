# Shared by the libvirt scenarios (sourced after lab-env.sh, which sets out, DB, img and sa): guests
# libvirt starts, disks hot-plugged without relabelling, and serve's answer awaited.

# serve's own answer: GET /v1/denials on its loopback port (open without a token file),
# over bash's /dev/tcp (the image has no HTTP client; scenarios run under dash).
api_denials() {
  bash -c 'exec 3<>/dev/tcp/127.0.0.1/8785 && printf "GET /v1/denials?limit=1000 HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' 2>/dev/null |
    sed '1,/^\r$/d'
}

# The newest denial serve answers now: await_denial then looks only at newer ones (the
# log holds earlier matches: libvirt's own permissive domains, earlier steps).
mark_denials() {
  since_id=$(api_denials | grep -o '^{"items":\[{"id":[0-9]*' | grep -o '[0-9]*$')
  since_id=${since_id:-0}
}

# Waits (SECONDS, default 30) until serve's API answers a denial newer than the mark and
# matching PATTERN, polled every 100 ms; writes to out/NAME-ms.txt the milliseconds from
# the kernel's record of it (its audit time) to that answer, and to out/NAME.json what
# `denials --json` then says (the CLI reads the same store).
await_denial() {
  name=$1 pattern=$2 deadline=$(( $(date +%s) + ${3:-30} ))
  while :; do
    # One denial per line, newest first: the last match is the first new one.
    item=$(api_denials | sed 's/{"id":/\n{"id":/g' |
      awk -F'[:,]' -v min="${since_id:-0}" '/^{"id":/ && $2 + 0 > min + 0' | grep -e "$pattern" | tail -1)
    [ -n "$item" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && { echo "no denial matching $pattern after ${3:-30} s"; break; }
    sleep 0.1
  done
  seen=$(date +%s%N)
  at=$(printf '%s' "$item" | grep -o '"time":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ -n "$at" ] && echo $(( (seen - $(date -d "$at" +%s%N)) / 1000000 )) > "$out/$name-ms.txt"
  sa denials --db "$DB" --json > "$out/$name.json" 2>/dev/null
}

define_guest() {
  model=$1 name=$2 uuid=$3
  truncate -s 1M "$img/$name.img"
  cat > "/tmp/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name><uuid>$uuid</uuid>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$img/$name.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
  <seclabel type='dynamic' model='$model' relabel='yes'/>
</domain>
XML
  virsh -q define "/tmp/$name.xml"
}

# A hot-plug of FILE into GUEST that tells libvirt not to relabel it: QEMU opens it with
# the label it has, and the kernel decides.
plug() {
  model=$1 guest=$2 file=$3 dev=$4
  cat > "/tmp/plug-$dev.xml" <<XML
<disk type='file' device='disk'>
  <driver name='qemu' type='raw'/>
  <source file='$file'><seclabel model='$model' relabel='no'/></source>
  <target dev='$dev' bus='virtio'/>
</disk>
XML
  virsh attach-device "$guest" "/tmp/plug-$dev.xml" --live
  echo "attach $file to $guest: exit $?"
}

