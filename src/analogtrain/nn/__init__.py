"""PyTorch modules whose weights live on simulated crossbar arrays, their optimizer, conversion.

* :class:`AnalogLinear`, :class:`AnalogConv2d`, :class:`AnalogLSTM`: layers whose matrix products
  are analog reads of an algorithm's visible weight (analog SGD, Tiki-Taka, SHD, ...);
* :class:`AnalogOptimizer`: a ``torch.optim.Optimizer`` whose ``step()`` applies the analog (pulse)
  updates and steps the digital parameters with any torch optimizer (``digital=torch.optim.Adam``);
  :class:`AnalogSGD`: the same with plain SGD for the digital parameters;
* :func:`convert`: a copy of a torch model with Linear/Conv2d/LSTM made analog;
* :class:`DigitalSHD`: SHD's A/C dynamics as an ordinary optimizer for any (digital) torch model.

A normal training loop works unchanged::

    model = convert(torch_model, SHDConfig(...))
    optimizer = AnalogSGD(model, lr=0.1)
    loss = criterion(model(x), y); optimizer.zero_grad(); loss.backward(); optimizer.step()
"""

from analogtrain.nn.conv import AnalogConv2d
from analogtrain.nn.conversion import convert, convertible_layers
from analogtrain.nn.digital_shd import DigitalSHD
from analogtrain.nn.linear import AnalogLinear
from analogtrain.nn.lstm import AnalogLSTM
from analogtrain.nn.optimizer import AnalogOptimizer, AnalogSGD, analog_tiles
from analogtrain.nn.tile import AnalogTile

__all__ = [
    "AnalogConv2d",
    "AnalogLinear",
    "AnalogLSTM",
    "AnalogOptimizer",
    "AnalogSGD",
    "AnalogTile",
    "DigitalSHD",
    "analog_tiles",
    "convert",
    "convertible_layers",
]
