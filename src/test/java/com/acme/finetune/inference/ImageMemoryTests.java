package com.acme.finetune.inference;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ImageMemoryTests {

	@Test
	void reservationsAreAllOrNothingAndGivenBackOnce() {
		ImageMemory memory = new ImageMemory(1000);
		ImageMemory.Reservation a = memory.tryReserve(600);
		assertThat(a).isNotNull();
		assertThat(memory.tryReserve(500)).isNull();
		assertThat(memory.used()).isEqualTo(600);
		ImageMemory.Reservation b = memory.tryReserve(400);
		assertThat(b).isNotNull();
		// the decoded images turned out smaller than estimated
		a.adjust(200);
		assertThat(memory.used()).isEqualTo(600);
		a.close();
		a.close();
		a.adjust(900);
		assertThat(memory.used()).isEqualTo(400);
		b.close();
		assertThat(memory.used()).isZero();
		assertThat(memory.tryReserve(1001)).isNull();
	}

}
