"""CI helpers the workflows run and the tests read: the stacks of the repository, drift classification.

Standard library only (PyYAML where a stack file's environment is read), so a workflow can run them
before the program's requirements are installed.
"""
