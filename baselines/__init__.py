"""Re-implemented GAN baselines (StyleGAN2, e4e, FFHQ alignment, JoJoGAN) in plain PyTorch."""
