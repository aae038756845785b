// loader tests: see below
