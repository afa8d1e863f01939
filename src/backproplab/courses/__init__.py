"""Each course's contract in one place (see the project's CONTRACTS.md): the reference classes and
functions under the names the course uses, with the numbers its checks hold them to.

One module per course: ``purdue`` (NumPy ANN, PyTorch ANN, PyTorch CNN), ``jku`` (the course's MLPs and
its train / test / train_and_test), ``radboud`` (assignment 1's functions in torch tensors).
"""
