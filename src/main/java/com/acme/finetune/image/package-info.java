/**
 * Image decoding shared by dataset intake, training and inference: the ImageIO plugins
 * the service ships, registered whichever thread decodes first, and which reader warnings
 * mean damaged pixels. Plain Java, no Spring.
 */
package com.acme.finetune.image;
