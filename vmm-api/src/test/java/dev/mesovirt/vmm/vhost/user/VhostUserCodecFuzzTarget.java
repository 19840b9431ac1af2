package dev.mesovirt.vmm.vhost.user;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.vhost.VhostException;

/**
 * A vhost-user back-end's replies (the back-end is another process, possibly compromised): a header and a payload of
 * any size for any request, decoded as the front-end decodes them. Only {@link VhostException} with a message may
 * come out.
 */
class VhostUserCodecFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void replies(FuzzedDataProvider data) {
        byte[] head = data.consumeBytes(VhostUserCodec.HEADER_SIZE);
        if (head.length != VhostUserCodec.HEADER_SIZE) {
            return;
        }
        VhostUserCodec.Header h = VhostUserCodec.Header.decode(head);
        VhostUserCodec.Request request = VhostUserCodec.Request.of(h.request());
        byte[] payload = data.consumeRemainingAsBytes();
        if (request == null) {
            return;
        }
        try {
            switch (request) {
                case GET_VRING_BASE -> VhostUserCodec.decodeVringState(request, h.flags() & 0xff, payload);
                case GET_CONFIG -> VhostUserCodec.decodeConfig(h.size() & 0xff, h.size() >>> 24 & 0xff, payload);
                default -> VhostUserCodec.decodeU64(request, payload);
            }
        } catch (VhostException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        }
    }
}
