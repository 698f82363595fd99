// Placeholder script until the browser UI lands in this folder.
"use strict";
