/**
 * The network building blocks: the DJL ResNet-50 ({@link ResNet50Block}) and its layers,
 * CPU memory layouts and the oneDNN inference module, and the TorchScript surgery that
 * trains and serves uploaded backbones. Internal to the {@code training} module.
 */
package com.acme.finetune.training.nn;
