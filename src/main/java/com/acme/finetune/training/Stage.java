package com.acme.finetune.training;

import java.util.Locale;

/**
 * The stages of a ResNet-50, in forward order, as torchvision names them. {@code NONE} is
 * only meaningful as a freeze bound ("freeze nothing").
 */
public enum Stage {

	NONE, STEM, LAYER1, LAYER2, LAYER3, LAYER4;

	/** The API spelling: {@code none}, {@code stem}, {@code layer1} … */
	public String id() {
		return name().toLowerCase(Locale.ROOT);
	}

	public static Stage parse(String value) {
		return valueOf(value.trim().toUpperCase(Locale.ROOT));
	}

	/** Whether this stage is frozen when freezing up to and including {@code upTo}. */
	public boolean isFrozenBy(Stage upTo) {
		return this != NONE && ordinal() <= upTo.ordinal();
	}

}
