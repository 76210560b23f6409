# Domain corpus, storage sources: a disk's <source> and its <backingStore> chain for each storage
# type (file, block, dir, network by protocol, volume, nvme, vhostuser), with the attributes and
# children of other types mixed in (libvirt keeps only its type's own). Appended after the other
# device cases so that the mutations derived from them are new ones. Each case: (name, build() dict).


def dev(body, **kw):
    d = {"devices": body}
    d.update(kw)
    return d


def backing(bs, top="<source file='/var/lib/top.qcow2'/>"):
    return dev(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>{top}{bs}<target dev='vda' bus='virtio'/></disk>")


SECRET = "<auth username='u'><secret type='iscsi' usage='libvirtiscsi'/></auth>"
CEPH = "<auth username='admin'><secret type='ceph' usage='mypool'/></auth>"

CASES = [
    ("storage-backing-network-http", backing("<backingStore type='network'><format type='raw'/><source protocol='http' name='/img.raw' query='a=1'><host name='web.example'/><readahead size='65536'/><timeout seconds='10'/><cookies><cookie name='s'>v</cookie></cookies></source></backingStore>")),
    ("storage-backing-network-nbd-chain", backing("<backingStore type='network'><format type='qcow2'/><source protocol='nbd' tls='yes'><host name='nbd.example' port='10809'/></source><backingStore type='file'><format type='raw'/><source file='/base.raw'/><backingStore/></backingStore></backingStore>")),
    ("storage-backing-network-iscsi", backing(f"<backingStore type='network'><format type='raw'/><source protocol='iscsi' name='iqn.2013-07.com.example:iscsi/1'><host name='10.0.0.1'/>{SECRET}<initiator><iqn name='iqn.2013-07.com.example:client'/></initiator></source></backingStore>")),
    ("storage-backing-network-rbd", backing(f"<backingStore type='network'><format type='raw'/><source protocol='rbd' name='pool/image'><host name='mon1' port='6789'/><snapshot name='snap'/><config file='/etc/ceph/ceph.conf'/>{CEPH}</source></backingStore>")),
    ("storage-backing-network-https-ssl", backing("<backingStore type='network'><format type='raw'/><source protocol='https' name='/a.iso'><host name='h'/><ssl verify='no'/></source></backingStore>")),
    ("storage-backing-mixed-file", backing("<backingStore type='file'><format type='qcow2'/><source file='/b.qcow2' protocol='nbd' name='x' dev='/dev/sdb'><host name='h'/><seclabel model='dac' relabel='no'/></source></backingStore>")),
    ("storage-backing-mixed-block", backing("<backingStore type='block'><format type='raw'/><source dev='/dev/sdb' file='/b.qcow2' pool='p' volume='v'><slices><slice type='storage' offset='0' size='512'/></slices></source></backingStore>")),
    ("storage-backing-volume", backing("<backingStore type='volume'><format type='raw'/><source pool='default' volume='base.raw' mode='host' file='/f'><host name='h'/></source></backingStore>")),
    ("storage-backing-nvme", backing("<backingStore type='nvme'><format type='raw'/><source type='pci' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></backingStore>")),
    ("storage-backing-vhostuser", backing("<backingStore type='vhostuser'><format type='raw'/><source type='unix' path='/run/vhost.sock'><reconnect enabled='yes' timeout='10'/></source></backingStore>")),
    ("storage-top-file-mixed", dev("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/a.raw' protocol='http' name='x' pool='p' startupPolicy='optional'><host name='h'/><config file='/c'/></source><target dev='vda' bus='virtio'/></disk>", )),
    ("storage-top-network-https", dev("<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='https' name='/a.img' tls='yes' query='x=1' file='/f'><host name='h'/><ssl verify='yes'/><cookies><cookie name='c'>1</cookie></cookies><readahead size='1024'/><timeout seconds='3'/><seclabel model='dac' relabel='no'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-top-volume-mixed", dev(f"<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='p' volume='v' dir='/d'>{SECRET}<host name='h'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-top-nvme", dev("<disk type='nvme' device='disk'><driver name='qemu' type='raw'/><source type='pci' namespace='2'><address domain='0' bus='3' slot='0' function='0'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-top-vhostuser", dev("<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='/run/vhost.sock'/><target dev='vda' bus='virtio'/></disk>")),
    ("storage-network-hosts", dev("<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='gluster' name='vol/img'><host name='g1' transport='rdma' port='0'/><host transport='unix' socket='/run/glusterd.sock'/><host name='g2' transport='tcp'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-network-nfs-identity", backing("<backingStore type='network'><format type='raw'/><source protocol='nfs' name='/export/base.raw'><host name='nfs.example' port='0'/><identity user='qemu' group='kvm'/><snapshot/><config/></source></backingStore>")),
    # (not storage, found alongside: partial PCI addresses, unix character devices without a path)
    ("address-pci-partial", dev("<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/><address type='pci' bus='1'/></interface><interface type='user'><mac address='52:54:00:00:00:02'/><model type='virtio'/><address type='pci' slot='0x1f' multifunction='on'/></interface><interface type='user'><mac address='52:54:00:00:00:03'/><model type='virtio'/><address type='pci' function='1'/></interface>")),
    ("chr-unix-no-path", dev("<channel type='unix'><source mode='connect'/><target type='virtio' name='a.b'/></channel><channel type='unix'><target type='xen' name='c.d'/></channel>")),
    ("storage-lun-reservations", dev("<disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/sdc'><reservations managed='yes'/></source><target dev='sda' bus='scsi'/></disk>")),
]


def bad(body):
    return "<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os><devices>" + body + "</devices></domain>"


def bad_backing(bs):
    return bad(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/top.qcow2'/>{bs}<target dev='vda' bus='virtio'/></disk>")


INVALID = [
    ("storage-bad-backing-protocol", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='bogus' name='x'><host name='h'/></source></backingStore>")),
    ("storage-bad-backing-tls", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='nbd' tls='maybe'><host name='h'/></source></backingStore>")),
    ("storage-bad-backing-noname", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='http'><host name='h'/></source></backingStore>")),
    ("storage-bad-backing-rbd-split", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='rbd' name='image'><host name='h'/></source></backingStore>")),
    ("storage-bad-backing-nested-type", bad_backing("<backingStore type='file'><format type='qcow2'/><source file='/b'/><backingStore type='bogus'><format type='raw'/><source file='/c'/></backingStore></backingStore>")),
    ("storage-bad-backing-nested-noformat", bad_backing("<backingStore type='file'><format type='qcow2'/><source file='/b'/><backingStore type='file'><source file='/c'/></backingStore></backingStore>")),
    ("storage-bad-backing-volume-mode", bad_backing("<backingStore type='volume'><format type='raw'/><source pool='p' volume='v' mode='bogus'/></backingStore>")),
    ("storage-bad-backing-nvme-noaddr", bad_backing("<backingStore type='nvme'><format type='raw'/><source type='pci' namespace='1'/></backingStore>")),
    ("storage-bad-backing-vhostuser-type", bad_backing("<backingStore type='vhostuser'><format type='raw'/><source type='tcp' path='/x'/></backingStore>")),
    ("storage-bad-backing-auth-nbd", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='nbd'><host name='h'/><auth username='u'><secret type='iscsi' usage='x'/></auth></source></backingStore>")),
    ("storage-bad-backing-auth-rbd-iscsi", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='rbd' name='p/i'><host name='h'/><auth username='u'><secret type='iscsi' usage='x'/></auth></source></backingStore>")),
    ("storage-bad-network-noname", bad("<disk type='network' device='disk'><source protocol='https'><host name='h'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-gluster-leading-slash", bad("<disk type='network' device='disk'><source protocol='gluster' name='/vol'><host name='h'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-network-startuppolicy", bad("<disk type='network' device='cdrom'><source protocol='http' name='/a.iso' startupPolicy='optional'><host name='h'/></source><target dev='hdc' bus='ide'/></disk>")),
    ("storage-bad-requisite-disk", bad("<disk type='file' device='disk'><source file='/a' startupPolicy='requisite'/><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-reservations-disk", bad("<disk type='block' device='disk'><source dev='/dev/sdb'><reservations managed='yes'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-auth-tftp", bad("<disk type='network' device='disk'><source protocol='tftp' name='/a'><host name='h'/><auth username='u'><secret type='iscsi' usage='x'/></auth></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-nvme-namespace-zero", bad("<disk type='nvme' device='disk'><source type='pci' namespace='0'><address domain='0' bus='1' slot='0' function='0'/></source><target dev='vda' bus='virtio'/></disk>")),
    ("storage-bad-host-tcp-socket", bad_backing("<backingStore type='network'><format type='raw'/><source protocol='nbd'><host name='h' socket='/x'/></source></backingStore>")),
    ("controller-bad-iothread-usb", bad("<controller type='usb' model='qemu-xhci'><driver iothread='1'/></controller>")),
    ("controller-bad-iothread-scsi-default", bad("<controller type='scsi'><driver iothread='1'/></controller>")),
    ("chr-bad-unix-guestfwd-no-path", bad("<channel type='unix'><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>")),
    ("chr-bad-unix-serial-no-path", bad("<serial type='unix'><source mode='bind'/><target port='0'/></serial>")),
    ("storage-bad-vhostuser-snapshot", bad("<disk type='vhostuser' device='disk' snapshot='external'><source type='unix' path='/x'/><target dev='vda' bus='virtio'/></disk>")),
]
