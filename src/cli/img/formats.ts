// Registers the formats tsvirt-img owns beside the image layer's built-ins (raw, qcow2).

import "../../image/formats/vmdk/index.js";
import "../../image/formats/vdi/index.js";
import "../../image/formats/qcow/index.js";
import "../../image/formats/cow/index.js";
