"""hotelcore's tools: what a developer runs beside the runtime, never what a deployment needs.

* ``bench``: every speed target measured with its baselines (``hotelcore bench``);
* ``demo``: a season in a hotel chain played through the api (``hotelcore demo``);
* ``datagen``: the chain, its calendar, members and stays the bench and the demo load;
* ``vendor_sim``: the simulated Cloudbeds behind ``hotelcore vendor-sim`` and the PMS tests;
* ``receiver``: a webhook endpoint that verifies every delivery (demo, bench, tests);
* ``docs``, ``citus``, ``catalog``: generated README sections, the scale-out check, the catalog dump.

Installed with ``pip install -e 'tools'`` or the runtime's ``hotelcore[tools]`` extra; ``make``
installs them for development and tests.
"""
