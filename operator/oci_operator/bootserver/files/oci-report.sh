#!/bin/sh
# oci-operator node report, for the Debian installer's busybox (no curl, no wget --post-data):
#   sh oci-report.sh HOST:PORT MAC TOKEN EVENT [MESSAGE]
# POSTs {"event", "message"[, "hardware"]} to /v1/hosts/MAC/report with HTTP Basic auth MAC:TOKEN,
# so the token travels in a header, never in a URL. Exit status 0 when the server said 2xx.
set -u
server=$1 mac=$2 token=$3 event=$4 message=${5:-}

clean() { tr -d '"\\\000-\037'; }  # values go inside JSON strings: drop quotes and control characters
read1() { [ -r "$1" ] && head -c 256 "$1" | clean | sed 's/ *$//'; }

# The installer loads storage drivers later than early_command, and the netboot initrd carries only
# some (USB, MMC, SCSI disk); load what is there and give the disks a moment to appear.
load_storage() {
  for m in ahci nvme virtio_blk virtio_scsi megaraid_sas mpt3sas hpsa sd_mod usb-storage uas mmc_block; do
    modprobe -q "$m" 2>/dev/null
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    ls /sys/block | grep -qvE '^(loop|ram|sr|fd|dm-|md|zram|nbd)' && return
    sleep 1
  done
}

disks() {
  first=1
  for d in /sys/block/*; do
    [ -e "$d" ] || continue
    name=${d##*/}
    case $name in loop*|ram*|sr*|fd*|dm-*|md*|zram*|nbd*) continue ;; esac
    [ "$(cat "$d/removable" 2>/dev/null)" = 1 ] && continue
    size=$(( $(cat "$d/size" 2>/dev/null || echo 0) * 512 ))
    rot=false; [ "$(cat "$d/queue/rotational" 2>/dev/null)" = 1 ] && rot=true
    serial=$(read1 "$d/device/serial"); [ -n "$serial" ] || serial=$(read1 "$d/serial")
    [ $first = 1 ] || printf ','
    first=0
    printf '{"name":"/dev/%s","sizeBytes":%s,"model":"%s","vendor":"%s","serialNumber":"%s","wwn":"%s","rotational":%s}' \
      "$name" "$size" "$(read1 "$d/device/model")" "$(read1 "$d/device/vendor")" "$serial" \
      "$(read1 "$d/device/wwid")" "$rot"
  done
}

# The deploy ramdisk's LLDP neighbour of a NIC, when it heard one (its init writes it, already clean JSON).
lldp_of() {
  [ -r "${OCI_LLDP_DIR:-/tmp/lldp}/$1.json" ] && printf ',"lldp":%s' "$(head -c 2048 "${OCI_LLDP_DIR:-/tmp/lldp}/$1.json")"
}

nics() {
  first=1
  for n in /sys/class/net/*; do
    [ -e "$n" ] || continue
    name=${n##*/}
    [ "$name" = lo ] && continue
    [ -e "$n/device" ] || continue  # physical interfaces only
    speed=$(cat "$n/speed" 2>/dev/null || echo 0); [ "$speed" -gt 0 ] 2>/dev/null || speed=0
    [ $first = 1 ] || printf ','
    first=0
    printf '{"name":"%s","mac":"%s","speedMbps":%s%s}' "$name" "$(read1 "$n/address")" "$speed" "$(lldp_of "$name")"
  done
}

hardware() {
  count=$(grep -c '^processor' /proc/cpuinfo)
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | clean)
  ram=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  printf '{"systemVendor":{"manufacturer":"%s","product":"%s","serialNumber":"%s"},' \
    "$(read1 /sys/class/dmi/id/sys_vendor)" "$(read1 /sys/class/dmi/id/product_name)" \
    "$(read1 /sys/class/dmi/id/product_serial)"
  printf '"cpu":{"arch":"%s","model":"%s","count":%s},"ramMebibytes":%s,' "$(uname -m)" "$model" "$count" "$ram"
  printf '"disks":[%s],"nics":[%s]}' "$(disks)" "$(nics)"
}

body="{\"event\":\"$event\",\"message\":\"$(printf %s "$message" | clean)\""
if [ "$event" = inspected ]; then
  load_storage
  body="$body,\"hardware\":$(hardware)"
fi
body="$body}"
auth=$(printf %s "$mac:$token" | base64 | tr -d '\n')
length=$(printf %s "$body" | wc -c | tr -d ' ')
# A wget that can POST (the deploy ramdisk's busybox) gets the answer reliably: with nc, aiohttp drops the
# response once nc half-closes after sending, so a recorded report looked unanswered and was sent again.
if wget --help 2>&1 | grep -q -- --post-data; then
  for attempt in 1 2 3 4 5; do
    wget -q -O /dev/null --header "Authorization: Basic $auth" --header "Content-Type: application/json" \
      --post-data "$body" "http://$server/v1/hosts/$mac/report" && exit 0
    echo "oci-report: $event: refused or no answer (attempt $attempt)" >&2
    sleep 5
  done
  exit 1
fi
for attempt in 1 2 3 4 5; do
  status=$(printf 'POST /v1/hosts/%s/report HTTP/1.0\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
    "$mac" "$server" "$auth" "$length" "$body" | nc -w 30 "${server%:*}" "${server##*:}" | head -n 1)
  case $status in *" 20"[0-9]*) exit 0 ;; esac
  echo "oci-report: $event: ${status:-no answer} (attempt $attempt)" >&2
  sleep 5
done
exit 1
