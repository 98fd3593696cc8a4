"""python3 -m sonopy: the worker (requests on stdin, replies on stdout); the plugin starts
it. `python3 -m sonopy.probe` is the interpreter probe."""
from sonopy.worker import main

main()
