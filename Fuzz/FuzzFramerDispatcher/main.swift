import FuzzSupport

Fuzz.run()
