"""Trained models shipped inside the package (data only).

``classifier_L100.onnx``: the skyrmion-process classifier trained on the L = 100
LLG twin — what ``hil classify``, ``hil stream label`` and ``hil demo`` use unless
``--model`` names another. How it was made (training command and its
``hil train classifier`` equivalent, data spec, date, code version, accuracy with
confusion matrices) is in its ONNX metadata::

    from hil.models.classifier_onnx import StepSession
    StepSession().meta          # no path: the shipped model

Made by ``benchmarks/classifier_data.sh`` (benchmarks/RESULTS.md, "Classifier at L = 100").
"""
