/**
 * A trained model on disk and in memory: {@link ModelArtifact} (files, loading,
 * prediction), its metadata and translator, the block factory that rebuilds the network
 * for plain DJL, Grad-CAM and the portable export. Published to other modules as the
 * named interface {@code training::artifact}: inference, model and evaluation serve
 * models through it without seeing the training loop or the network classes.
 */
@NamedInterface("artifact")
package com.acme.finetune.training.artifact;

import org.springframework.modulith.NamedInterface;
