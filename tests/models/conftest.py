def _importable(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


# model files import their framework at module level: skip those whose framework is not installed
collect_ignore = [] if _importable("jax") else ["stax_models.py"]
if not _importable("torch"):
    collect_ignore += ["lenet.py", "mnist_example.py", "cnn1d.py", "pointnet.py", "maxout.py", "vgg.py",
                       "resnet.py", "relu_alpha.py", "robust.py", "losses.py"]
