import { staticProvider } from '@disco/core';
import { describeProvider } from '@disco/testing/conformance';

describeProvider('static', () => staticProvider(), { noOutage: 'the static provider keeps its instances in this process: there is no backend to fail' });
