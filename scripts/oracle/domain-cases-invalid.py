# Domain corpus, documents libvirt refuses: malformed XML (libxml2 messages), wrong root, missing
# or bad identity, memory, vcpu, os, lifecycle values, and bad devices. Raw strings or build() dicts.

B = "<name>x</name><memory>1024</memory><os><type>hvm</type></os>"
U = "<uuid>2d5b7e4e-1d8a-4c31-9a57-7a3a3c9b1e01</uuid>"


def dom(body, t="test"):
    return f"<domain type='{t}'>{U}{body}</domain>"


def devs(d):
    return dom(B + f"<devices>{d}</devices>")


CASES = [
    # malformed XML
    ("xml-empty", ""),
    ("xml-blank", "   \n"),
    ("xml-garbage", "hello world"),
    ("xml-mismatch", "<domain><name>x</domain>"),
    ("xml-mismatch-multiline", "<domain type='test'>\n  <name>x</name>\n  <memory>1024\n</domain>\n"),
    ("xml-premature", "<domain type='test'>"),
    ("xml-premature-nested", "<domain type='test'>\n  <name>x</name>\n  <os>\n"),
    ("xml-extra-content", dom(B) + "<domain/>"),
    ("xml-unquoted-attr", "<domain type=test>" + B + "</domain>"),
    ("xml-duplicate-attr", "<domain type='test' type='kvm'>" + B + "</domain>"),
    ("xml-undefined-entity", "<domain type='test'><name>a&foo;</name></domain>"),
    ("xml-bad-amp", "<domain type='test'><name>a & b</name></domain>"),
    ("xml-lt-in-attr", "<domain type='a<b'>" + B + "</domain>"),
    ("xml-unclosed-comment", "<domain type='test'><!-- x " + B + "</domain>"),
    ("xml-bad-name-char", "<domain type='test'><1name>x</1name></domain>"),
    ("xml-text-only", "just text\nmore"),
    ("xml-close-only", "</domain>"),
    # root, type, identity
    ("root-network", "<network>" + B + "</network>"),
    ("type-missing", "<domain>" + B + "</domain>"),
    ("type-unknown", "<domain type='foo'>" + B + "</domain>"),
    ("name-missing", dom("<memory>1024</memory><os><type>hvm</type></os>")),
    ("name-empty", dom("<name></name><memory>1024</memory><os><type>hvm</type></os>")),
    ("name-slash", dom("<name>a/b</name><memory>1024</memory><os><type>hvm</type></os>")),
    ("uuid-malformed", "<domain type='test'><uuid>not-a-uuid</uuid>" + B + "</domain>"),
    ("uuid-short", "<domain type='test'><uuid>1234</uuid>" + B + "</domain>"),
    ("title-newline", dom(B + "<title>a\nb</title>")),
    # memory and vcpus
    ("memory-missing", dom("<name>x</name><os><type>hvm</type></os>")),
    ("memory-zero", dom("<name>x</name><memory>0</memory><os><type>hvm</type></os>")),
    ("memory-text", dom("<name>x</name><memory>lots</memory><os><type>hvm</type></os>")),
    ("memory-negative", dom("<name>x</name><memory>-5</memory><os><type>hvm</type></os>")),
    ("memory-bad-unit", dom("<name>x</name><memory unit='parsecs'>1</memory><os><type>hvm</type></os>")),
    ("maxmemory-too-small", dom(B + "<maxMemory slots='2' unit='KiB'>512</maxMemory>")),
    ("vcpu-zero", dom(B + "<vcpu>0</vcpu>")),
    ("vcpu-text", dom(B + "<vcpu>many</vcpu>")),
    ("vcpu-current-too-big", dom(B + "<vcpu current='8'>4</vcpu>")),
    ("vcpu-bad-placement", dom(B + "<vcpu placement='sometimes'>1</vcpu>")),
    # os, clock, lifecycle
    ("os-missing", dom("<name>x</name><memory>1024</memory>")),
    ("os-type-unknown", dom("<name>x</name><memory>1024</memory><os><type>dos</type></os>")),
    ("os-arch-unknown", dom("<name>x</name><memory>1024</memory><os><type arch='z80'>hvm</type></os>")),
    ("os-boot-bad", dom("<name>x</name><memory>1024</memory><os><type>hvm</type><boot dev='tape'/></os>")),
    ("clock-bad-offset", dom(B + "<clock offset='mars'/>")),
    ("on-poweroff-bad", dom(B + "<on_poweroff>explode</on_poweroff>")),
    ("on-crash-bad", dom(B + "<on_crash>panic</on_crash>")),
    # devices
    ("disk-bad-type", devs("<disk type='tape'><target dev='vda'/></disk>")),
    ("disk-bad-device", devs("<disk type='file' device='tape'><source file='/a'/><target dev='vda'/></disk>")),
    ("disk-no-target", devs("<disk type='file'><source file='/a'/></disk>")),
    ("disk-duplicate-target", devs("<disk type='file'><source file='/a'/><target dev='vda'/></disk><disk type='file'><source file='/b'/><target dev='vda'/></disk>")),
    ("disk-bad-bus", devs("<disk type='file'><source file='/a'/><target dev='vda' bus='firewire'/></disk>")),
    ("disk-bad-cache", devs("<disk type='file'><driver name='qemu' cache='sometimes'/><source file='/a'/><target dev='vda'/></disk>")),
    ("disk-bad-sgio", devs("<disk type='block' device='lun' sgio='x'><source dev='/dev/sda'/><target dev='sda' bus='scsi'/></disk>")),
    ("disk-boot-zero", devs("<disk type='file'><source file='/a'/><target dev='vda'/><boot order='0'/></disk>")),
    ("interface-bad-type", devs("<interface type='carrier-pigeon'/>")),
    ("interface-bad-mac", devs("<interface type='user'><mac address='zz:zz'/></interface>")),
    ("interface-multicast-mac", devs("<interface type='user'><mac address='01:00:5e:00:00:01'/></interface>")),
    ("interface-network-nosource", devs("<interface type='network'/>")),
    ("interface-bridge-nosource", devs("<interface type='bridge'/>")),
    ("graphics-bad-type", devs("<graphics type='telepathy'/>")),
    ("controller-bad-type", devs("<controller type='firewire'/>")),
    ("video-bad-model", devs("<video><model type='hercules'/></video>")),
    ("input-bad-type", devs("<input type='joystick'/>")),
    ("input-bad-bus", devs("<input type='mouse' bus='serial'/>")),
    ("serial-bad-type", devs("<serial type='carrier'/>")),
    ("channel-no-target", devs("<channel type='pty'/>")),
    ("cpu-features-without-model", dom(B + "<cpu><feature policy='require' name='x2apic'/></cpu>")),
    ("disk-sgio-unfiltered", devs("<disk type='block' device='lun' sgio='unfiltered'><source dev='/dev/sdc'/><target dev='sda' bus='scsi'/></disk>")),
    ("redirdev-without-usb", devs("<redirdev bus='usb' type='spicevmc'/>")),
    ("iommu-intremap-no-ioapic", devs("<iommu model='intel'><driver intremap='on'/></iommu>")),
    ("maxmemory-no-slots", dom(B + "<maxMemory unit='GiB'>4</maxMemory>")),
    ("feature-htm-no-state", dom(B + "<features><htm/></features>")),
    ("boot-os-and-device", dom("<name>x</name><memory>1024</memory><os><type>hvm</type><boot dev='hd'/></os><devices><disk type='file'><source file='/a'/><target dev='vda'/><boot order='1'/></disk></devices>")),
    ("address-bad-type", devs("<disk type='file'><source file='/a'/><target dev='vda'/><address type='warp'/></disk>")),
    ("memballoon-bad-model", devs("<memballoon model='balloon9000'/>")),
    # seen refused by libvirtd 9.0's QEMU driver too (tests/data/qemu-dumpxml/w-err-*)
    ("interface-model-bad-chars", devs("<interface type='user'><model type='bad model!'/></interface>")),
    ("controller-index-duplicate", devs("<controller type='scsi' index='0' model='virtio-scsi'/><controller type='scsi' index='0' model='lsilogic'/>")),
    ("cputune-period-range", dom(B + "<cputune><period>10</period></cputune>")),
    ("cputune-quota-range", dom(B + "<cputune><quota>5</quota></cputune>")),
    ("cputune-emulator-period-range", dom(B + "<cputune><emulator_period>2000000</emulator_period></cputune>")),
    ("disk-duplicate-drive-address", devs("<controller type='scsi' model='virtio-scsi'/><disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk><disk type='file'><source file='/b'/><target dev='sdb' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>")),
    ("hyperv-spinlocks-retries-low", dom(B + "<features><hyperv><spinlocks state='on' retries='100'/></hyperv></features>")),
    ("input-tablet-ps2", devs("<input type='tablet' bus='ps2'/>")),
    ("iotune-total-and-read", devs("<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/><iotune><total_bytes_sec>100</total_bytes_sec><read_bytes_sec>50</read_bytes_sec></iotune></disk>")),
    ("iotune-total-and-write-iops", devs("<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/><iotune><total_iops_sec>100</total_iops_sec><write_iops_sec>50</write_iops_sec></iotune></disk>")),
    ("numa-cells-overlap", dom(B + "<vcpu>4</vcpu><cpu><numa><cell id='0' cpus='0-1' memory='512' unit='MiB'/><cell id='1' cpus='1-3' memory='512' unit='MiB'/></numa></cpu>")),
    ("pci-address-slot-range", devs("<interface type='user'><address type='pci' domain='0x0000' bus='0x00' slot='0x20' function='0x0'/></interface>")),
    ("pci-address-function-range", devs("<interface type='user'><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x8'/></interface>")),
    ("watchdog-two", devs("<watchdog model='i6300esb'/><watchdog model='ib700'/>")),
    ("disk-lun-file", devs("<disk type='file' device='lun'><source file='/a'/><target dev='sda' bus='scsi'/></disk>")),
]
