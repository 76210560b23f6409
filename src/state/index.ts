// Public face of src/state: object lists, job locks, the event queue, the atomic XML store.
export * from "./active-list-slots.js";
export * from "./domain-obj.js";
export * from "./event-queue.js";
export * from "./host-objects.js";
export * from "./job-lock.js";
export * from "./list-filter.js";
export * from "./object-list.js";
export * from "./xml-store.js";
