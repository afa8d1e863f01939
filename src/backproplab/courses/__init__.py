"""Each course's contract in one place (see the project's CONTRACTS.md): the reference classes and
functions under the names the course uses, with the numbers its checks hold them to.

One module per course: ``purdue`` (NumPy ANN, PyTorch ANN, PyTorch CNN), ``jku``, ``radboud``.
"""
