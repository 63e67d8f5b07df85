"""ONNX export internals (private); the public entry points are in :mod:`sklstm.onnx`.

``_graph`` builds ONNX nodes from numpy weights and knows nothing of torch or of the
estimators; ``_steps`` reads the fitted estimators and writes their graphs with it.
"""
