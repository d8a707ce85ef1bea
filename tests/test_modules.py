"""skvae._modules: the PyTorch encoders and decoders."""

import pytest
import torch

from skvae._modules import conv_decoder, conv_encoder


@pytest.mark.parametrize("height", range(1, 10))
@pytest.mark.parametrize("width", [1, 6, 7, 28])
def test_conv_decoder_restores_every_image_size(height, width):
    shape = (2, height, width)
    encoder = conv_encoder(shape, 3, (4, 8), 16)
    decoder = conv_decoder(shape, 3, (4, 8), 16)
    mu, _ = encoder(torch.zeros(5, *shape))
    assert decoder(mu).shape == (5, *shape)


def test_conv_decoder_covers_every_pixel_alike():
    # A constant code through a decoder with constant weights must give a
    # constant interior: kernels that are a multiple of the stride touch
    # every output pixel equally often (no checkerboard).
    decoder = conv_decoder((1, 28, 28), 2, (4, 8), 16)
    for layer in decoder.modules():
        if isinstance(layer, (torch.nn.Linear, torch.nn.ConvTranspose2d)):
            torch.nn.init.constant_(layer.weight, 0.1)
            torch.nn.init.zeros_(layer.bias)
    out = decoder(torch.ones(1, 2))[0, 0, 4:-4, 4:-4]
    assert torch.allclose(out, out[0, 0].expand_as(out), rtol=1e-5)
