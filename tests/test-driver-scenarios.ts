// All scenarios of the test-driver differential test: domains, then the other object kinds.
import type { Scenario } from "./test-driver-ops.js";
import { DOMAIN_SCENARIOS } from "./test-driver-scenarios-domain.js";
import { OBJECT_SCENARIOS } from "./test-driver-scenarios-objects.js";

export const SCENARIOS: Scenario[] = [...DOMAIN_SCENARIOS, ...OBJECT_SCENARIOS];
