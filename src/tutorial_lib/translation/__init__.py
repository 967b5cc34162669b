"""Image-to-image translation (chapters 13 and 14): paired (pix2pix) and unpaired (CycleGAN)."""
