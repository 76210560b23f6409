#!/bin/sh
# /init of the tsvirt test guest (busybox initramfs). Prints a ready marker on the console,
# powers off on the ACPI power button, echoes console input and ticks once a second.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
# The event device is opened here, before the ready marker, so a button press that comes
# right after the marker is not lost (evdev only queues events for open readers).
fd=3
for e in /sys/class/input/event*; do
  if grep -q "Power Button" "$e/device/name" 2>/dev/null; then
    eval "exec $fd<\"/dev/input/${e##*/}\""
    ( dd bs=24 count=1 <&$fd >/dev/null 2>&1
      echo TSVIRT-GUEST-POWERBUTTON
      poweroff -f ) &
    fd=$((fd+1))
  fi
done
( i=0; while :; do sleep 1; i=$((i+1)); echo "TSVIRT-TICK $i"; done ) &
echo TSVIRT-GUEST-READY
while read -r line; do echo "TSVIRT-ECHO: $line"; done
poweroff -f
