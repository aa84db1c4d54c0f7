"""Native CPU kernels, registered as PyTorch custom operators and built on first use with the
machine's C compiler (`build`); never required: where one cannot be built or loaded, the layers
run on PyTorch's own kernels. `relu_bn_maxpool`: a CNN's (conv bias) -> ReLU -> BatchNorm2d ->
MaxPool2d training stage in one pass each way, which `dllab.engine.fusion` runs for the Trainer."""
