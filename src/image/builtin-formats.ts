// Registers the formats built into the image layer. Importing this module (openImage does) is
// what makes them available by name.

import "./formats/raw/index.js";
import "./formats/qcow2/index.js";
import "./formats/qcow/index.js";
import "./formats/cow/index.js";
import "./formats/vmdk/index.js";
import "./formats/vdi/index.js";
